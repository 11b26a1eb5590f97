import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { encodeEnvelope } from "@weather/schema";
import { latencyField, STORE_KEYS } from "@weather/store";
import { type CountableMessage, CountStore } from "../../src/store/count-store.ts";
import { expectedCounts, makeEnvelopes, REDIS_URL, TestStore, VALKEY_URL } from "./helpers.ts";

// Logical DB 10 of each store belongs to this file.
const targets = [
  ["Valkey", `${VALKEY_URL}/10`],
  ["Redis", `${REDIS_URL}/10`],
] as const;

function countable(count: number, latencyMs = 7): CountableMessage[] {
  return makeEnvelopes(count).map((e) => ({
    id: e.id,
    country: e.country,
    weather: e.weather,
    latencyField: latencyField(latencyMs),
    json: encodeEnvelope(e),
  }));
}

describe.each(targets)("count script on %s", (_name, url) => {
  const inspect = new TestStore(url);
  const store = new CountStore(url, { dedupTtlSeconds: 120 });

  beforeAll(async () => {
    await store.connect();
    await inspect.clear();
  });
  afterAll(async () => {
    await store.close();
    await store.close(); // twice is harmless
    await inspect.close();
  });

  test("counts a batch exactly, per country and weather, in one call", async () => {
    const batch = countable(250);
    const result = await store.countBatch(batch, 2);
    expect(result).toEqual({ counted: 250, duplicates: 0, countedFlags: batch.map(() => true) });
    const snapshot = await inspect.snapshot();
    const expected = expectedCounts(batch);
    expect(snapshot.total).toBe(250);
    expect(snapshot.countries).toEqual(expected.countries);
    expect(snapshot.weathers).toEqual(expected.weathers);
    expect(snapshot.latencyMs["10"]).toBe(250);
    expect(snapshot.deadLettered).toBe(2);
    expect(snapshot.recent).toBe(100);
    // Newest first: the batch's last message heads the list.
    const head = await inspect.client.lindex(STORE_KEYS.recentMessages, 0);
    expect(JSON.parse(head as string).id).toBe(batch.at(-1)?.id);
    // Dedup keys expire.
    const ttl = await inspect.client.ttl(`seen:${batch[0]?.id}`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  test("ids seen before, in an earlier batch or earlier in the same batch, are skipped and counted as duplicates", async () => {
    const before = await inspect.snapshot();
    const fresh = countable(10);
    const again = countable(0);
    const batch = [...fresh.slice(0, 5), ...fresh.slice(0, 2), ...fresh.slice(5)];
    const result = await store.countBatch([...batch, ...again]);
    expect(result.counted).toBe(10);
    expect(result.duplicates).toBe(2);
    expect(result.countedFlags).toEqual([true, true, true, true, true, false, false, true, true, true, true, true]);
    const replay = await store.countBatch(fresh);
    expect(replay).toEqual({ counted: 0, duplicates: 10, countedFlags: fresh.map(() => false) });
    const after = await inspect.snapshot();
    expect(after.total - before.total).toBe(10);
    expect(after.duplicates - before.duplicates).toBe(12);
  });

  test("the script is cached server-side (EVALSHA), loaded by the first call", async () => {
    const scripts = (store.client as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet;
    const sha = Object.values(scripts)[0]?.sha as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await store.client.script("EXISTS", sha)).toEqual([1]);
  });

  test("an empty batch with only dead letters just records them", async () => {
    const before = await inspect.snapshot();
    expect(await store.countBatch([], 3)).toEqual({ counted: 0, duplicates: 0, countedFlags: [] });
    const after = await inspect.snapshot();
    expect(after.deadLettered - before.deadLettered).toBe(3);
    expect(after.total).toBe(before.total);
  });
});
