import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import { countedIds } from "@weather/store";
import {
  COUNTRIES,
  expectedCounts,
  freePort,
  KafkaFixture,
  RabbitFixture,
  type SpawnedProcess,
  spawnService,
  stack,
  stopProcess,
  TestStore,
  uniqueName,
  waitFor,
} from "../../../test/support/index.ts";
import { spawnConsumer } from "./helpers.ts";

/**
 * 10,000 messages through the real API (a child process) into both pipelines, 2 replicas of
 * each consumer, then the same envelopes re-published straight to both brokers.
 * Logical DB 14 of each store belongs to this file.
 */
const MESSAGES = 10_000;
const CONCURRENCY = 64;
const WEATHER = ["Lluvioso", "Nubloso", "Soleado"] as const;

const queue = uniqueName("test-api-q");
const topic = uniqueName("test-api-t");
const group = uniqueName("test-api-g");
const valkeyUrl = `${stack.VALKEY_URL}/14`;
const redisUrl = `${stack.REDIS_URL}/14`;

describe("10,000 messages through the API, 2 replicas of each consumer", () => {
  const valkey = new TestStore(valkeyUrl);
  const redis = new TestStore(redisUrl);
  const rabbit = new RabbitFixture(queue);
  const kafka = new KafkaFixture(topic);
  const apiPort = freePort();
  let api: SpawnedProcess | undefined;
  let consumers: SpawnedProcess[] = [];
  /** What the API accepted, with the ids the client chose (so the re-send can reuse them). */
  const sent: { id: string; description: string; country: string; weather: string }[] = [];

  const rabbitEnv = { CONSUMER_SOURCE: "rabbitmq", RABBITMQ_QUEUE: queue, STORE_URL: valkeyUrl };
  const kafkaEnv = { CONSUMER_SOURCE: "kafka", KAFKA_TOPIC: topic, KAFKA_GROUP_ID: group, STORE_URL: redisUrl };

  async function startConsumers() {
    consumers = await Promise.all([
      spawnConsumer(rabbitEnv),
      spawnConsumer(rabbitEnv),
      spawnConsumer(kafkaEnv),
      spawnConsumer(kafkaEnv),
    ]);
    await kafka.awaitGroup(group, 2);
  }

  /** Stops every consumer (each settles what it counted): then neither broker has anything left for them. */
  async function stopConsumersAndSettle() {
    const codes: number[] = [];
    for (const consumer of consumers) codes.push(await stopProcess(consumer)); // one at a time, as a rolling restart
    expect(codes).toEqual([0, 0, 0, 0]);
    consumers = [];
    expect(await rabbit.backlog()).toBe(0);
    expect(await kafka.backlog(group)).toBe(0);
  }

  beforeAll(async () => {
    await Promise.all([valkey.reset(), redis.reset(), rabbit.open(), kafka.open()]);
    api = await spawnService(
      "api/src/main.ts",
      { API_PORT: String(apiPort), RABBITMQ_QUEUE: queue, KAFKA_TOPIC: topic, LOG_LEVEL: "warn" },
      apiPort,
    );
    await startConsumers();
  }, 90_000);

  afterAll(async () => {
    await Promise.all(consumers.map((c) => stopProcess(c, "SIGKILL")));
    if (api) expect(await stopProcess(api)).toBe(0);
    await Promise.all([rabbit.close(), kafka.close(), valkey.close(), redis.close()]);
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
      await waitFor("all counted", async () => (await store.snapshot()).total >= MESSAGES, { timeoutMs: 90_000 });
    }
    await stopConsumersAndSettle();
    for (const store of [valkey, redis]) {
      const snapshot = await store.snapshot();
      expect(snapshot.total).toBe(MESSAGES);
      expect(snapshot.countries).toEqual(expected.countries);
      expect(snapshot.weathers).toEqual(expected.weathers);
      expect(snapshot.duplicates).toBe(0);
      if (store === valkey) expect(snapshot.replays).toBe(0); // Kafka may replay after a rebalance: recognised
      expect(snapshot.deadLettered).toBe(0);
      expect(
        (
          await countedIds(
            store.client,
            sent.map((m) => m.id),
          )
        ).size,
      ).toBe(MESSAGES);
    }
  }, 180_000);

  test("the same envelopes published again straight to both brokers: totals unchanged, duplicates up by 10,000", async () => {
    expect(sent).toHaveLength(MESSAGES);
    const before = { valkey: await valkey.snapshot(), redis: await redis.snapshot() };
    const payloads = sent.map((m) => encodeEnvelope(createEnvelope(m)));
    await Promise.all([rabbit.publish(payloads), kafka.publish(payloads)]);
    await startConsumers();
    for (const [store, start] of [
      [valkey, before.valkey],
      [redis, before.redis],
    ] as const) {
      await waitFor("re-sent skipped", async () => (await store.snapshot()).duplicates - start.duplicates >= MESSAGES, {
        timeoutMs: 90_000,
      });
    }
    await stopConsumersAndSettle();
    for (const [store, start] of [
      [valkey, before.valkey],
      [redis, before.redis],
    ] as const) {
      const after = await store.snapshot();
      expect(after.total).toBe(MESSAGES);
      expect(after.countries).toEqual(start.countries);
      expect(after.duplicates - start.duplicates).toBe(MESSAGES);
    }
  }, 180_000);
});
