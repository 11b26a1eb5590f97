import { describe, expect, test } from "bun:test";
import { silentLogger } from "@weather/log";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import { CountingPipeline } from "../../src/core/pipeline.ts";
import { StoreRejectedError, StoreUnavailableError } from "../../src/errors.ts";
import { ConsumerMetrics } from "../../src/metrics.ts";
import type { DeadLetter, Delivery, Source } from "../../src/sources/source.ts";
import type { BatchResult, CountableMessage } from "../../src/store/count-store.ts";

interface FakeDelivery extends Delivery {
  seq: number;
}

/** Records what the core asks of a broker; every call is appended to `events`. */
class FakeSource implements Source<FakeDelivery> {
  readonly kind = "rabbitmq";
  ready = true;
  events: string[] = [];
  acked: number[] = [];
  released: number[] = [];
  deadLettered: DeadLetter<FakeDelivery>[] = [];
  sink: ((d: FakeDelivery) => void) | undefined;
  async connect() {}
  async start(sink: (d: FakeDelivery) => void) {
    this.sink = sink;
  }
  pause() {
    this.events.push("pause");
  }
  resume() {
    this.events.push("resume");
  }
  stale = new Set<number>();
  isStale(d: FakeDelivery) {
    return this.stale.has(d.seq);
  }
  async deadLetter(items: readonly DeadLetter<FakeDelivery>[]) {
    this.events.push(`dlq:${items.length}`);
    this.deadLettered.push(...items);
  }
  async ack(batch: readonly FakeDelivery[]) {
    this.events.push(`ack:${batch.length}`);
    this.acked.push(...batch.map((d) => d.seq));
  }
  async release(batch: readonly FakeDelivery[]) {
    this.events.push(`release:${batch.length}`);
    this.released.push(...batch.map((d) => d.seq));
  }
  async stop() {
    this.events.push("stop");
  }
  async close() {}
  async backlog() {
    return 0;
  }
}

/** Counts ids once, like the Lua script; can be told to fail the next calls. */
class FakeStore {
  seen = new Set<string>();
  calls: number[] = [];
  failures: Error[] = [];
  constructor(private readonly events: string[]) {}
  async countBatch(messages: readonly CountableMessage[], deadLettered = 0): Promise<BatchResult> {
    const failure = this.failures.shift();
    this.events.push(failure ? "store:fail" : `store:${messages.length}+${deadLettered}`);
    if (failure) throw failure;
    this.calls.push(messages.length);
    const countedFlags = messages.map((m) => !this.seen.has(m.id) && this.seen.add(m.id) !== undefined);
    const counted = countedFlags.filter(Boolean).length;
    return { counted, duplicates: messages.length - counted, countedFlags };
  }
}

let seq = 0;
function delivery(text?: string): FakeDelivery {
  const body = text ?? encodeEnvelope(createEnvelope({ description: "d", country: "GT", weather: "Soleado" }));
  return { seq: seq++, payload: new TextEncoder().encode(body) };
}

function setup(options: { batchMaxSize?: number; batchMaxWaitMs?: number } = {}) {
  const source = new FakeSource();
  const store = new FakeStore(source.events);
  const metrics = new ConsumerMetrics("rabbitmq-valkey");
  const fatal: Error[] = [];
  const pipeline = new CountingPipeline(
    source,
    store,
    metrics,
    { batchMaxSize: options.batchMaxSize ?? 3, batchMaxWaitMs: options.batchMaxWaitMs ?? 30, retryBackoffMs: 5 },
    silentLogger,
  );
  return { source, store, metrics, fatal, pipeline, start: () => pipeline.start((e) => fatal.push(e)) };
}

const tick = (ms = 0) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, ms = 2000) {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await tick(2);
  }
}

describe("CountingPipeline", () => {
  test("a full batch goes to the store at once, and is acknowledged only after the store answered", async () => {
    const { source, store, start } = setup({ batchMaxSize: 3, batchMaxWaitMs: 10_000 });
    await start();
    for (let i = 0; i < 3; i++) source.sink?.(delivery());
    await until(() => source.acked.length === 3);
    expect(store.calls).toEqual([3]);
    expect(source.events).toEqual(["store:3+0", "ack:3"]);
  });

  test("a partial batch waits BATCH_MAX_WAIT_MS, no longer", async () => {
    const { source, store, start } = setup({ batchMaxSize: 100, batchMaxWaitMs: 40 });
    await start();
    const sentAt = performance.now();
    source.sink?.(delivery());
    source.sink?.(delivery());
    await tick(15);
    expect(store.calls).toEqual([]);
    await until(() => source.acked.length === 2);
    const waited = performance.now() - sentAt;
    expect(waited).toBeGreaterThanOrEqual(35);
    expect(waited).toBeLessThan(500);
    expect(store.calls).toEqual([2]);
  });

  test("bad messages are dead-lettered before the batch is counted, and the good ones around them counted", async () => {
    const { source, store, metrics, start } = setup({ batchMaxSize: 3 });
    await start();
    source.sink?.(delivery());
    source.sink?.(delivery("not json at all"));
    source.sink?.(delivery());
    await until(() => source.acked.length === 3);
    expect(source.events).toEqual(["dlq:1", "store:2+1", "ack:3"]);
    expect(source.deadLettered[0]?.reason).toBe("not_json");
    expect(store.seen.size).toBe(2);
    const dead = await metrics.deadLettered.get();
    expect(dead.values).toEqual([{ value: 1, labels: { reason: "not_json" } }]);
  });

  test("duplicates are counted once and reported as duplicates", async () => {
    const { source, metrics, start } = setup({ batchMaxSize: 2 });
    await start();
    const same = delivery();
    source.sink?.(same);
    source.sink?.({ ...same, seq: seq++ });
    await until(() => source.acked.length === 2);
    expect((await metrics.counted.get()).values[0]?.value).toBe(1);
    expect((await metrics.duplicates.get()).values[0]?.value).toBe(1);
  });

  test("a retriable store failure is retried; the batch is acknowledged once, after success", async () => {
    const { source, store, fatal, start } = setup({ batchMaxSize: 2 });
    store.failures.push(new StoreUnavailableError("down"), new StoreUnavailableError("still down"));
    await start();
    source.sink?.(delivery());
    source.sink?.(delivery());
    await until(() => source.acked.length === 2);
    expect(source.events).toEqual(["store:fail", "store:fail", "store:2+0", "ack:2"]);
    expect(fatal).toEqual([]);
  });

  test("a non-retriable store failure hands the batch back and reports a fatal error", async () => {
    const { source, store, fatal, start } = setup({ batchMaxSize: 1 });
    store.failures.push(new StoreRejectedError("WRONGTYPE"));
    await start();
    source.sink?.(delivery());
    await until(() => fatal.length === 1);
    expect(source.released).toHaveLength(1);
    expect(source.acked).toEqual([]);
  });

  test("the source is paused at two batches' worth of buffered deliveries and resumed after", async () => {
    const { source, store, start } = setup({ batchMaxSize: 2, batchMaxWaitMs: 10_000 });
    store.failures.push(new StoreUnavailableError("slow"));
    await start();
    for (let i = 0; i < 6; i++) source.sink?.(delivery());
    expect(source.events).toContain("pause");
    await until(() => source.acked.length === 6);
    expect(source.events).toContain("resume");
  });

  test("stale deliveries (fetched before a rebalance) are neither counted nor settled", async () => {
    const { source, store, start } = setup({ batchMaxSize: 3 });
    await start();
    const stale = delivery();
    source.stale.add(stale.seq);
    source.sink?.(stale);
    source.sink?.(delivery());
    source.sink?.(delivery());
    await until(() => source.acked.length === 2);
    expect(store.calls).toEqual([2]);
    expect(source.acked).not.toContain(stale.seq);
  });

  test("drain stops fetching, finishes the deliveries in hand and acknowledges them", async () => {
    const { source, pipeline, start } = setup({ batchMaxSize: 100, batchMaxWaitMs: 10_000 });
    await start();
    for (let i = 0; i < 5; i++) source.sink?.(delivery());
    await pipeline.drain(1000);
    expect(source.events).toEqual(["stop", "store:5+0", "ack:5"]);
    await pipeline.drain(1000); // twice is harmless
    expect(source.events).toHaveLength(3);
  });

  test("drain hands back what the store could not take within the budget", async () => {
    const { source, store, pipeline, start } = setup({ batchMaxSize: 2, batchMaxWaitMs: 10_000 });
    await start();
    for (let i = 0; i < 2; i++) store.failures.push(new StoreUnavailableError("down"));
    source.sink?.(delivery());
    source.sink?.(delivery());
    await tick(1);
    await pipeline.drain(500);
    expect(source.acked).toEqual([]);
    expect(source.released).toHaveLength(2);
  });
});
