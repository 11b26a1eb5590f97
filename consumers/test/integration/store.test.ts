import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeEnvelope } from "@weather/schema";
import { countedIds, idBytes, latencyField, STORE_KEYS } from "@weather/store";
import { expectedCounts, makeEnvelopes, stack, TestStore } from "../../../test/support/index.ts";
import { type CountableMessage, CountStore } from "../../src/store/count-store.ts";

// Logical DB 10 of each store belongs to this file.
const targets = [
  ["Valkey", `${stack.VALKEY_URL}/10`],
  ["Redis", `${stack.REDIS_URL}/10`],
] as const;
const WINDOW_S = 120;
const GUARD = { rabbitmq: STORE_KEYS.unacknowledged, kafka: "offsets:test-topic:test-topic-id" } as const;

/** `count` valid messages; Kafka positions run from `firstOffset` on partition 0, RabbitMQ ones say "not redelivered". */
function countable(count: number, firstOffset = 0): CountableMessage[] {
  return makeEnvelopes(count).map((e, i) => ({
    id: idBytes(e.id),
    country: e.country,
    weather: e.weather,
    latencyField: latencyField(7),
    json: encodeEnvelope(e),
    position: `0:${firstOffset + i}`,
  }));
}
const redelivered = (messages: CountableMessage[]) => messages.map((m) => ({ ...m, position: "1" }));
const notRedelivered = (messages: CountableMessage[]) => messages.map((m) => ({ ...m, position: "0" }));
const idsOf = (messages: CountableMessage[]) => messages.map((m) => JSON.parse(m.json).id as string);

function openStore(url: string, mode: "rabbitmq" | "kafka", unacknowledgedMaxAgeSeconds = 3600) {
  const store = new CountStore(url, {
    mode,
    dedupWindowSeconds: WINDOW_S,
    unacknowledgedMaxAgeSeconds,
    commandTimeoutMs: 5000,
    reconnect: { initialMs: 50, maxMs: 500 },
  });
  store.connect();
  return store;
}

describe.each(targets)("count script on %s", (_name, url) => {
  const inspect = new TestStore(url);
  const rabbit = openStore(url, "rabbitmq");
  const kafka = openStore(url, "kafka");
  /** Forgets the dedup window, as if it had expired: what is recognised afterwards is the replay guard's doing. */
  const expireWindow = async () => {
    const keys = await inspect.client.keys("dedup:[0-9]*");
    if (keys.length > 0) await inspect.client.del(...keys);
  };

  beforeAll(() => inspect.reset());
  afterAll(async () => {
    await rabbit.close();
    await rabbit.close(); // twice is harmless
    await kafka.close();
    await inspect.close();
  });

  test("counts a batch exactly, per country and weather, in one call", async () => {
    await inspect.reset();
    const batch = countable(250);
    const result = await kafka.countBatch(batch, 2, GUARD.kafka);
    expect(result).toEqual({ counted: 250, duplicates: 0, replays: 0, countedFlags: batch.map(() => true) });
    const snapshot = await inspect.snapshot();
    const expected = expectedCounts(batch);
    expect(snapshot.total).toBe(250);
    expect(snapshot.countries).toEqual(expected.countries);
    expect(snapshot.weathers).toEqual(expected.weathers);
    expect(snapshot.latencyMs["7.28"]).toBe(250);
    expect(snapshot.deadLettered).toBe(2);
    expect(snapshot.recent).toBe(100);
    // Newest first: the batch's last message heads the list.
    const head = await inspect.client.lindex(STORE_KEYS.recentMessages, 0);
    expect(JSON.parse(head as string).id).toBe(idsOf(batch).at(-1) as string);
    // Every id is in the window, once.
    expect((await countedIds(inspect.client, idsOf(batch))).size).toBe(250);
  });

  test("the window's current bucket expires at most a window and a bucket from now", async () => {
    const [bucket] = await inspect.client.keys("dedup:[0-9]*");
    const ttl = await inspect.client.ttl(bucket as string);
    expect(ttl).toBeGreaterThan(WINDOW_S);
    expect(ttl).toBeLessThanOrEqual(WINDOW_S + WINDOW_S / 4 + 1);
  });

  test("ids counted before, in an earlier batch or earlier in the same batch, are skipped as duplicates", async () => {
    await inspect.reset();
    const fresh = countable(10);
    const batch = [...fresh.slice(0, 5), ...fresh.slice(0, 2), ...fresh.slice(5)];
    const result = await rabbit.countBatch(notRedelivered(batch), 0, GUARD.rabbitmq);
    expect(result.counted).toBe(10);
    expect(result.duplicates).toBe(2);
    expect(result.countedFlags).toEqual([true, true, true, true, true, false, false, true, true, true, true, true]);
    // A client retry with the same ids: new messages for the broker, duplicates for the window.
    expect(await rabbit.countBatch(notRedelivered(fresh), 0, GUARD.rabbitmq)).toEqual({
      counted: 0,
      duplicates: 10,
      replays: 0,
      countedFlags: fresh.map(() => false),
    });
    const after = await inspect.snapshot();
    expect(after.total).toBe(10);
    expect(after.duplicates).toBe(12);
  });

  test("Kafka: a replayed record is recognised by its offset, however long after", async () => {
    await inspect.reset();
    const batch = countable(20, 100);
    expect((await kafka.countBatch(batch, 0, GUARD.kafka)).counted).toBe(20);
    expect(await inspect.client.hget(GUARD.kafka, "0")).toBe("119");
    await expireWindow();
    // A rebalance or restart replays from an older committed offset: nothing is counted again...
    const replay = await kafka.countBatch(batch.slice(5), 0, GUARD.kafka);
    expect(replay.counted).toBe(0);
    expect(replay.replays).toBe(15);
    expect(replay.duplicates).toBe(0);
    // ...and what follows the replay is counted.
    const next = countable(3, 120);
    expect((await kafka.countBatch([...batch.slice(18), ...next], 0, GUARD.kafka)).countedFlags).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(await inspect.client.hget(GUARD.kafka, "0")).toBe("122");
    expect((await inspect.snapshot()).total).toBe(23);
  });

  test("Kafka: the same ids at new offsets (a re-publish) are duplicates of the window, not replays", async () => {
    await inspect.reset();
    const first = countable(6, 0);
    await kafka.countBatch(first, 0, GUARD.kafka);
    const republished = first.map((m, i) => ({ ...m, position: `0:${6 + i}` }));
    expect(await kafka.countBatch(republished, 0, GUARD.kafka)).toMatchObject({
      counted: 0,
      duplicates: 6,
      replays: 0,
    });
    expect(await inspect.client.hget(GUARD.kafka, "0")).toBe("11");
  });

  test("RabbitMQ: a redelivered message counted before is recognised until its acknowledgement is confirmed", async () => {
    await inspect.reset();
    const batch = countable(8);
    expect((await rabbit.countBatch(notRedelivered(batch), 0, GUARD.rabbitmq)).counted).toBe(8);
    expect(await inspect.client.zcard(GUARD.rabbitmq)).toBe(8);
    await expireWindow();
    // The consumer died before its ack: the broker redelivers, however late.
    expect((await rabbit.countBatch(redelivered(batch), 0, GUARD.rabbitmq)).replays).toBe(8);
    // The redelivered copies are acknowledged and confirmed: the next call takes them off the guard.
    await rabbit.countBatch(
      [],
      0,
      GUARD.rabbitmq,
      batch.map((m) => m.id),
    );
    expect(await inspect.client.zcard(GUARD.rabbitmq)).toBe(0);
    expect((await inspect.snapshot()).total).toBe(8);
  });

  test("RabbitMQ: ids never confirmed are dropped from the guard after DEDUP_UNACKED_MAX_AGE_SECONDS", async () => {
    await inspect.reset();
    const shortLived = openStore(url, "rabbitmq", 1);
    try {
      await shortLived.countBatch(notRedelivered(countable(5)), 0, GUARD.rabbitmq);
      expect(await inspect.client.zcard(GUARD.rabbitmq)).toBe(5);
      await Bun.sleep(1100); // the age limit itself is what is tested
      await shortLived.countBatch([], 0, GUARD.rabbitmq);
      expect(await inspect.client.zcard(GUARD.rabbitmq)).toBe(0);
    } finally {
      await shortLived.close();
    }
  });

  test("the script is cached server-side (EVALSHA), loaded by the first call", async () => {
    const scripts = (rabbit.client as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet;
    const sha = Object.values(scripts)[0]?.sha as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await rabbit.client.script("EXISTS", sha)).toEqual([1]);
  });

  test("an empty batch with only dead letters just records them", async () => {
    const before = await inspect.snapshot();
    expect(await kafka.countBatch([], 3, GUARD.kafka)).toEqual({
      counted: 0,
      duplicates: 0,
      replays: 0,
      countedFlags: [],
    });
    const after = await inspect.snapshot();
    expect(after.deadLettered - before.deadLettered).toBe(3);
    expect(after.total).toBe(before.total);
  });
});
