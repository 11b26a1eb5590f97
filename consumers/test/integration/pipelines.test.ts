import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeEnvelope } from "@weather/schema";
import {
  expectedCounts,
  type KafkaFixture,
  makeEnvelopes,
  metricValue,
  pipelineCases,
  RabbitFixture,
  type SpawnedConsumer,
  spawnConsumer,
  stopConsumer,
  TestStore,
  waitFor,
} from "./helpers.ts";

/**
 * Both pipelines, two replicas each, with envelopes published straight to the broker
 * (as the API publishes them). Logical DB 11 of each store belongs to this file.
 */
const MESSAGES = 3000;
const BATCH_MAX_SIZE = 200;
const POISON = ["Description=Hola, Country=GT, Weather=Soleado", JSON.stringify({ hello: "world" })];

// RabbitMQ's competing consumers see a message again only if it was never acked; a Kafka
// rebalance mid-run replays at most the batch each member had counted but not committed.
const cases = pipelineCases(11, "test-consumers").map((c) => ({ ...c, replayBound: c.kafka ? 2 * BATCH_MAX_SIZE : 0 }));

describe.each(cases)("$name with 2 replicas", ({ storeUrl, setup, replayBound }) => {
  const { broker, env } = setup();
  const store = new TestStore(storeUrl);
  const replicas: SpawnedConsumer[] = [];
  const envelopes = makeEnvelopes(MESSAGES);
  const payloads = envelopes.map(encodeEnvelope);

  beforeAll(async () => {
    await store.clear();
    await broker.open();
    const consumerEnv = {
      ...env,
      STORE_URL: storeUrl,
      BATCH_MAX_SIZE: String(BATCH_MAX_SIZE),
      BATCH_MAX_WAIT_MS: "10",
    };
    replicas.push(...(await Promise.all([spawnConsumer(consumerEnv), spawnConsumer(consumerEnv)])));
    if (env.KAFKA_GROUP_ID) await broker.awaitGroup?.(env.KAFKA_GROUP_ID, replicas.length);
  }, 60_000);

  afterAll(async () => {
    const codes = await Promise.all(replicas.map((r) => stopConsumer(r)));
    await broker.close();
    await store.close();
    expect(codes).toEqual([0, 0]);
  }, 30_000);

  test("every message is counted exactly once; poison messages are dead-lettered and their neighbours counted", async () => {
    const middle = MESSAGES / 2;
    await broker.publish([...payloads.slice(0, middle), ...POISON, ...payloads.slice(middle)]);
    const snapshot = await waitFor("all messages counted", async () => {
      const s = await store.snapshot();
      return s.total >= MESSAGES && s.deadLettered >= POISON.length ? s : undefined;
    });
    await Bun.sleep(300); // anything extra would show up now
    const settled = await store.snapshot();
    const expected = expectedCounts(envelopes);
    expect(settled.total).toBe(MESSAGES);
    expect(settled.countries).toEqual(expected.countries);
    expect(settled.weathers).toEqual(expected.weathers);
    expect(settled.duplicates).toBeLessThanOrEqual(replayBound);
    expect(settled.deadLettered).toBe(POISON.length);
    expect(Object.values(settled.latencyMs).reduce((a, b) => a + b, 0)).toBe(MESSAGES);
    expect(snapshot.recent).toBe(100);
    // Both replicas took a share of the work.
    const counted = await Promise.all(replicas.map((r) => metricValue(r.port, "consumer_messages_counted_total")));
    expect(counted.reduce((a, b) => a + b, 0)).toBe(MESSAGES);
    expect(counted.every((n) => n > 0)).toBe(true);
  }, 90_000);

  test("the poison messages are in the dead-letter queue/topic with their reason", async () => {
    let letters: { value: string; reason: string | undefined }[];
    if (broker instanceof RabbitFixture) {
      letters = (await broker.drainDeadLetters()).map((m) => ({
        value: m.content.toString(),
        reason: m.properties.headers?.reason as string | undefined,
      }));
    } else {
      letters = (await (broker as KafkaFixture).readDeadLetters(POISON.length)).map((m) => ({
        value: m.value,
        reason: m.headers.reason,
      }));
    }
    expect(letters.map((l) => l.value).sort()).toEqual([...POISON].sort());
    const byValue = Object.fromEntries(letters.map((l) => [l.value, l.reason]));
    expect(byValue[POISON[0] as string]).toBe("not_json");
    expect(byValue[POISON[1] as string]).toBe("invalid_envelope");
    const dead = await Promise.all(replicas.map((r) => metricValue(r.port, "consumer_dead_lettered_total")));
    expect(dead.reduce((a, b) => a + b, 0)).toBe(POISON.length);
  }, 90_000);

  test("the same envelopes published again change no count and are reported as duplicates", async () => {
    const before = await store.snapshot();
    await broker.publish(payloads);
    await waitFor("re-sent messages skipped", async () => {
      const s = await store.snapshot();
      return s.duplicates - before.duplicates >= MESSAGES;
    });
    await Bun.sleep(300);
    const after = await store.snapshot();
    expect(after.total).toBe(MESSAGES);
    expect(after.countries).toEqual(before.countries);
    expect(after.duplicates - before.duplicates).toBeGreaterThanOrEqual(MESSAGES);
    expect(after.duplicates - before.duplicates).toBeLessThanOrEqual(MESSAGES + replayBound);
  }, 90_000);
});
