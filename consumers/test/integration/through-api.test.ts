import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import {
  COUNTRIES,
  expectedCounts,
  freePort,
  KafkaFixture,
  RabbitFixture,
  REDIS_URL,
  ROOT,
  type SpawnedConsumer,
  spawnConsumer,
  stopConsumer,
  TestStore,
  unique,
  VALKEY_URL,
  waitFor,
} from "./helpers.ts";

/**
 * 10,000 messages through the real API (a child process) into both pipelines, 2 replicas of
 * each consumer, then the same envelopes re-published straight to both brokers.
 * Logical DB 14 of each store belongs to this file.
 */
const MESSAGES = 10_000;
const CONCURRENCY = 64;
/**
 * Competing RabbitMQ consumers never see a message twice in a clean run. A Kafka group can still
 * rebalance mid-run (e.g. a heartbeat late on a busy machine): the batch a member had counted but
 * not yet committed is then read again by the partition's next owner and skipped as duplicates,
 * at most one batch (BATCH_MAX_SIZE, 500) per member, two members here. Counts stay exact either way.
 */
const KAFKA_REPLAY_BOUND = 2 * 500;
const WEATHER = ["Lluvioso", "Nubloso", "Soleado"] as const;

const queue = unique("test-api-q");
const topic = unique("test-api-t");
const valkeyUrl = `${VALKEY_URL}/14`;
const redisUrl = `${REDIS_URL}/14`;

describe("10,000 messages through the API, 2 replicas of each consumer", () => {
  const valkey = new TestStore(valkeyUrl);
  const redis = new TestStore(redisUrl);
  const rabbit = new RabbitFixture(queue);
  const kafka = new KafkaFixture(topic);
  const apiPort = freePort();
  let api: ReturnType<typeof Bun.spawn> | undefined;
  const consumers: SpawnedConsumer[] = [];
  /** What the API accepted, with the ids the client chose (so the re-send can reuse them). */
  const sent: { id: string; description: string; country: string; weather: string }[] = [];

  beforeAll(async () => {
    await Promise.all([valkey.clear(), redis.clear(), rabbit.open(), kafka.open()]);
    api = Bun.spawn([process.execPath, "api/src/main.ts"], {
      cwd: ROOT,
      env: { ...process.env, API_PORT: String(apiPort), RABBITMQ_QUEUE: queue, KAFKA_TOPIC: topic, LOG_LEVEL: "warn" },
      stdout: "ignore",
      stderr: "inherit",
    });
    await waitFor("API ready", async () => (await fetch(`http://127.0.0.1:${apiPort}/readyz`)).ok, 30_000);
    const rabbitEnv = { CONSUMER_SOURCE: "rabbitmq", RABBITMQ_QUEUE: queue, STORE_URL: valkeyUrl };
    const kafkaEnv = {
      CONSUMER_SOURCE: "kafka",
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: unique("test-api-g"),
      STORE_URL: redisUrl,
    };
    consumers.push(
      ...(await Promise.all([
        spawnConsumer(rabbitEnv),
        spawnConsumer(rabbitEnv),
        spawnConsumer(kafkaEnv),
        spawnConsumer(kafkaEnv),
      ])),
    );
    await kafka.awaitGroup(kafkaEnv.KAFKA_GROUP_ID, 2);
  }, 90_000);

  afterAll(async () => {
    const codes = await Promise.all(consumers.map((c) => stopConsumer(c)));
    api?.kill("SIGTERM");
    await api?.exited;
    await Promise.all([rabbit.close(), kafka.close(), valkey.close(), redis.close()]);
    expect(codes).toEqual([0, 0, 0, 0]);
  }, 30_000);

  test("both stores count exactly 10,000, per country and per weather as sent", async () => {
    let next = 0;
    let rejected = 0;
    const worker = async () => {
      while (next < MESSAGES) {
        const i = next++;
        const message = {
          id: Bun.randomUUIDv7(),
          description: `Clima en ${COUNTRIES[(i * 7) % COUNTRIES.length]} ${(i % 100) + 1}`,
          country: COUNTRIES[i % COUNTRIES.length] as string,
          weather: WEATHER[i % WEATHER.length] as string,
        };
        const response = await fetch(`http://127.0.0.1:${apiPort}/process`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(message),
        });
        await response.arrayBuffer();
        if (response.ok)
          sent.push({ ...message, weather: message.weather === "Nubloso" ? "Nublado" : message.weather });
        else rejected++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    expect(rejected).toBe(0);
    expect(sent).toHaveLength(MESSAGES);

    const expected = expectedCounts(sent);
    for (const store of [valkey, redis]) {
      await waitFor("all counted", async () => (await store.snapshot()).total >= MESSAGES, 90_000);
    }
    await Bun.sleep(300);
    for (const store of [valkey, redis]) {
      const snapshot = await store.snapshot();
      expect(snapshot.total).toBe(MESSAGES);
      expect(snapshot.countries).toEqual(expected.countries);
      expect(snapshot.weathers).toEqual(expected.weathers);
      expect(snapshot.duplicates).toBeLessThanOrEqual(store === valkey ? 0 : KAFKA_REPLAY_BOUND);
      expect(snapshot.deadLettered).toBe(0);
    }
  }, 180_000);

  test("the same envelopes published again straight to both brokers: totals unchanged, duplicates up by 10,000", async () => {
    expect(sent).toHaveLength(MESSAGES);
    const before = { valkey: await valkey.snapshot(), redis: await redis.snapshot() };
    const payloads = sent.map((m) => encodeEnvelope(createEnvelope(m)));
    await Promise.all([rabbit.publish(payloads), kafka.publish(payloads)]);
    for (const [store, start] of [
      [valkey, before.valkey],
      [redis, before.redis],
    ] as const) {
      await waitFor(
        "re-sent skipped",
        async () => (await store.snapshot()).duplicates - start.duplicates >= MESSAGES,
        90_000,
      );
      await Bun.sleep(300);
      const after = await store.snapshot();
      expect(after.total).toBe(MESSAGES);
      expect(after.countries).toEqual(start.countries);
      expect(after.duplicates - start.duplicates).toBeGreaterThanOrEqual(MESSAGES);
      expect(after.duplicates - start.duplicates).toBeLessThanOrEqual(
        MESSAGES + (store === valkey ? 0 : KAFKA_REPLAY_BOUND),
      );
    }
  }, 180_000);
});
