import { afterAll, describe, expect, test } from "bun:test";
import { encodeEnvelope } from "@weather/schema";
import { countedIds, usedMemory } from "@weather/store";
import { metricSum } from "../../../bench/src/metrics.ts";
import {
  expectedCounts,
  makeEnvelopes,
  RabbitFixture,
  stack,
  stopProcess,
  TestStore,
  uniqueName,
  waitFor,
} from "../../../test/support/index.ts";
import { spawnConsumer } from "./helpers.ts";

/**
 * A full store degrades as designed: when Valkey reaches maxmemory (noeviction), the count script
 * is refused as a whole, the consumer acknowledges nothing, says /readyz 503 and counts the refusals,
 * and when memory is available again it resumes: nothing lost, nothing counted twice.
 * maxmemory is the server's own setting: the test lowers it below what is used, then restores it.
 * Logical DB 9 of Valkey is this file's.
 */
const store = new TestStore(`${stack.VALKEY_URL}/9`);

describe("a full store", () => {
  const queue = uniqueName("test-full");
  const broker = new RabbitFixture(queue);
  let restore: string | undefined;

  afterAll(async () => {
    if (restore !== undefined) await store.client.config("SET", "maxmemory", restore);
    await broker.close();
    await store.close();
  });

  test("stops the consumer acknowledging (readiness 503, refusals counted) until memory is freed; then every message is counted once", async () => {
    await store.reset();
    await broker.open();
    const consumer = await spawnConsumer({
      CONSUMER_SOURCE: "rabbitmq",
      RABBITMQ_QUEUE: queue,
      STORE_URL: store.url,
      RETRY_MAX_BACKOFF_MS: "200",
    });
    const metrics = async () => (await fetch(`http://127.0.0.1:${consumer.port}/metrics`)).text();
    const envelopes = makeEnvelopes(1000);
    const payloads = envelopes.map(encodeEnvelope);
    await broker.publish(payloads.slice(0, 500));
    await waitFor("the first half counted", async () => (await store.snapshot()).total === 500);

    restore = ((await store.client.config("GET", "maxmemory")) as string[])[1];
    await store.client.config("SET", "maxmemory", String((await usedMemory(store.client)) - 1024));
    await broker.publish(payloads.slice(500));
    await waitFor(
      "readiness 503",
      async () => (await fetch(`http://127.0.0.1:${consumer.port}/readyz`)).status === 503,
    );
    const body = await (await fetch(`http://127.0.0.1:${consumer.port}/readyz`)).json();
    expect(body).toEqual({ ready: false, shuttingDown: false, dependencies: { valkey: "failing", rabbitmq: "up" } });
    await waitFor(
      "refusals counted",
      async () => (metricSum(await metrics(), "consumer_retries_total", { reason: "store_full" }) ?? 0) >= 2,
    );
    expect(metricSum(await metrics(), "consumer_ready")).toBe(0);
    // Nothing of the second half was counted or acknowledged meanwhile.
    expect((await store.snapshot()).total).toBe(500);
    expect(await broker.depth()).toBe(0); // all delivered to the consumer, none acknowledged (prefetch 1000)

    await store.client.config("SET", "maxmemory", restore as string);
    await waitFor("the second half counted", async () => (await store.snapshot()).total >= 1000);
    await waitFor("ready again", async () => (await fetch(`http://127.0.0.1:${consumer.port}/readyz`)).status === 200);
    expect(await stopProcess(consumer)).toBe(0);
    expect(await broker.depth()).toBe(0);
    const snapshot = await store.snapshot();
    const expected = expectedCounts(envelopes);
    expect(snapshot.total).toBe(1000);
    expect(snapshot.countries).toEqual(expected.countries);
    expect(
      (
        await countedIds(
          store.client,
          envelopes.map((e) => e.id),
        )
      ).size,
    ).toBe(1000);
  }, 90_000);
});
