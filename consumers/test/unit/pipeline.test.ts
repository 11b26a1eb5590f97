import { describe, expect, test } from "bun:test";
import { waitFor } from "@weather/async";
import { silentLogger } from "@weather/log";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import { CountingPipeline } from "../../src/core/pipeline.ts";
import { StoreError } from "../../src/errors.ts";
import { ConsumerMetrics } from "../../src/metrics.ts";
import type { DeadLetter, Delivery } from "../../src/sources/source.ts";
import type { BatchResult, CountableMessage } from "../../src/store/count-store.ts";

interface FakeDelivery extends Delivery {
  seq: number;
}

/** Records what the core asks of a broker; every call is appended to `events`. */
class FakeSource {
  readonly replayGuardKey = "guard";
  events: string[] = [];
  acked: number[] = [];
  released: number[] = [];
  deadLettered: DeadLetter<FakeDelivery>[] = [];
  /** Deliveries the next ack leaves alone (they came on a connection that has since closed). */
  fromClosedConnection = new Set<number>();
  pause() {
    this.events.push("pause");
  }
  resume() {
    this.events.push("resume");
  }
  async deadLetter(items: readonly DeadLetter<FakeDelivery>[]) {
    this.events.push(`dlq:${items.length}`);
    this.deadLettered.push(...items);
  }
  /** When set, acknowledgements are confirmed only by `confirmHeldAcks` (the broker's answer comes later). */
  holdAcks = false;
  #heldAcks: (() => void)[] = [];
  async ack(batch: readonly FakeDelivery[]) {
    const live = batch.filter((d) => !this.fromClosedConnection.has(d.seq));
    this.events.push(`ack:${live.length}`);
    this.acked.push(...live.map((d) => d.seq));
    if (this.holdAcks) await new Promise<void>((resolve) => this.#heldAcks.push(resolve));
    return live;
  }
  confirmHeldAcks() {
    for (const resolve of this.#heldAcks.splice(0)) resolve();
  }
  async release(batch: readonly FakeDelivery[]) {
    this.events.push(`release:${batch.length}`);
    this.released.push(...batch.map((d) => d.seq));
  }
}

/** Counts ids once, like the count script; can be told to fail the next calls. */
class FakeStore {
  seen = new Set<string>();
  calls: number[] = [];
  settled: string[][] = [];
  failures: Error[] = [];
  /** When set, a store call answers only once this promise resolves. */
  gate: Promise<void> | undefined;
  constructor(private readonly events: string[]) {}
  async countBatch(
    messages: readonly CountableMessage[],
    deadLettered: number,
    _guard: string,
    settled: readonly Buffer[] = [],
  ): Promise<BatchResult> {
    const failure = this.failures.shift();
    this.events.push(failure ? "store:fail" : `store:${messages.length}+${deadLettered}`);
    if (failure) throw failure;
    this.calls.push(messages.length);
    // What a real store call sends: the ids as they are when the call is made.
    this.settled.push(settled.map((id) => id.toString("hex")));
    if (this.gate) await this.gate;
    const countedFlags = messages.map((m) => {
      const key = m.id.toString("hex");
      if (this.seen.has(key)) return false;
      this.seen.add(key);
      return true;
    });
    const counted = countedFlags.filter(Boolean).length;
    return { counted, duplicates: messages.length - counted, replays: 0, countedFlags };
  }
}

const unavailable = (why: string) => new StoreError("store_unavailable", why, true);

let seq = 0;
function delivery(text?: string): FakeDelivery {
  const body = text ?? encodeEnvelope(createEnvelope({ description: "d", country: "GT", weather: "Soleado" }));
  return { seq: seq++, payload: new TextEncoder().encode(body), position: "0" };
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
    {
      batchMaxSize: options.batchMaxSize ?? 3,
      batchMaxWaitMs: options.batchMaxWaitMs ?? 0,
      retry: { initialMs: 2, maxMs: 5 },
    },
    silentLogger,
  );
  pipeline.start((e) => fatal.push(e));
  return { source, store, metrics, fatal, pipeline, send: (d: FakeDelivery) => pipeline.accept(d) };
}

const until = (what: string, check: () => boolean) => waitFor(what, check, { timeoutMs: 2000, intervalMs: 2 });

describe("CountingPipeline", () => {
  test("a full batch goes to the store at once, and is acknowledged only after the store answered", async () => {
    const { source, store, send } = setup({ batchMaxSize: 3, batchMaxWaitMs: 10_000 });
    for (let i = 0; i < 3; i++) send(delivery());
    await until("3 acked", () => source.acked.length === 3);
    expect(store.calls).toEqual([3]);
    expect(source.events).toEqual(["store:3+0", "ack:3"]);
  });

  test("without a wait, a batch is whatever has arrived: one burst is one batch, nothing waits", async () => {
    const { source, store, send } = setup({ batchMaxSize: 100, batchMaxWaitMs: 0 });
    // One socket read delivers several messages synchronously: they share one store call.
    for (let i = 0; i < 5; i++) send(delivery());
    await until("5 acked", () => source.acked.length === 5);
    expect(store.calls).toEqual([5]);
    send(delivery());
    await until("6 acked", () => source.acked.length === 6);
    expect(store.calls).toEqual([5, 1]);
  });

  test("messages arriving during a store call form the next batch, up to the batch size", async () => {
    const { source, store, send } = setup({ batchMaxSize: 4 });
    store.failures.push(unavailable("slow"));
    send(delivery());
    await until("first store call", () => source.events.includes("store:fail"));
    for (let i = 0; i < 6; i++) send(delivery());
    await until("7 acked", () => source.acked.length === 7);
    expect(store.calls).toEqual([1, 4, 2]);
  });

  test("with BATCH_MAX_WAIT_MS, a partial batch waits that long for more, no longer", async () => {
    const { source, store, send } = setup({ batchMaxSize: 100, batchMaxWaitMs: 40 });
    const sentAt = performance.now();
    send(delivery());
    send(delivery());
    await until("2 acked", () => source.acked.length === 2);
    expect(performance.now() - sentAt).toBeGreaterThanOrEqual(35);
    expect(store.calls).toEqual([2]);
  });

  test("bad messages are dead-lettered before the batch is counted, and the good ones around them counted", async () => {
    const { source, store, metrics, send } = setup({ batchMaxSize: 3, batchMaxWaitMs: 10_000 });
    send(delivery());
    send(delivery("not json at all"));
    send(delivery());
    await until("3 acked", () => source.acked.length === 3);
    expect(source.events).toEqual(["dlq:1", "store:2+1", "ack:3"]);
    expect(source.deadLettered[0]?.reason).toBe("not_json");
    expect(store.seen.size).toBe(2);
    const dead = await metrics.deadLettered.get();
    expect(dead.values).toEqual([{ value: 1, labels: { reason: "not_json" } }]);
  });

  test("duplicates are counted once and reported as duplicates", async () => {
    const { source, metrics, send } = setup({ batchMaxSize: 2, batchMaxWaitMs: 10_000 });
    const same = delivery();
    send(same);
    send({ ...same, seq: seq++ });
    await until("2 acked", () => source.acked.length === 2);
    expect((await metrics.counted.get()).values[0]?.value).toBe(1);
    expect((await metrics.duplicates.get()).values[0]?.value).toBe(1);
  });

  test("a retriable store failure is retried with backoff; readiness says stalled meanwhile; acked once, after success", async () => {
    const { source, store, fatal, pipeline, send } = setup({ batchMaxSize: 2, batchMaxWaitMs: 10_000 });
    store.failures.push(unavailable("down"), new StoreError("store_full", "OOM command not allowed", true));
    send(delivery());
    send(delivery());
    await until("stalled", () => pipeline.stalled);
    await until("2 acked", () => source.acked.length === 2);
    expect(pipeline.stalled).toBe(false);
    expect(source.events).toEqual(["store:fail", "store:fail", "store:2+0", "ack:2"]);
    expect(fatal).toEqual([]);
  });

  test("a non-retriable store failure hands the batch back and reports a fatal error", async () => {
    const { source, store, fatal, send } = setup({ batchMaxSize: 1 });
    store.failures.push(new StoreError("store_rejected", "WRONGTYPE", false));
    send(delivery());
    await until("fatal", () => fatal.length === 1);
    expect(source.released).toHaveLength(1);
    expect(source.acked).toEqual([]);
  });

  test("the source is paused at two batches' worth of buffered deliveries and resumed after", async () => {
    const { source, store, send } = setup({ batchMaxSize: 2, batchMaxWaitMs: 10_000 });
    store.failures.push(unavailable("slow"));
    for (let i = 0; i < 6; i++) send(delivery());
    expect(source.events).toContain("pause");
    await until("6 acked", () => source.acked.length === 6);
    expect(source.events).toContain("resume");
  });

  test("deliveries of a closed connection are counted, never dropped; only acknowledged ids leave the replay guard", async () => {
    const { source, store, send } = setup({ batchMaxSize: 3, batchMaxWaitMs: 10_000 });
    const old = delivery();
    source.fromClosedConnection.add(old.seq);
    const batch = [old, delivery(), delivery()];
    for (const d of batch) send(d);
    await until("first batch acked", () => source.acked.length === 2);
    expect(store.calls).toEqual([3]);
    send(delivery());
    send(delivery());
    send(delivery());
    await until("second batch acked", () => source.acked.length === 5);
    // The next store call is told which ids' acknowledgements the broker confirmed: not the old one.
    const ids = batch.map((d) => JSON.parse(new TextDecoder().decode(d.payload)).id.replaceAll("-", ""));
    expect(store.settled[1]).toEqual(ids.slice(1));
  });

  test("acknowledgements confirmed while a store call is in flight reach the next call: every acknowledged id leaves the replay guard", async () => {
    const { source, store, pipeline, send } = setup({ batchMaxSize: 3, batchMaxWaitMs: 10_000 });
    source.holdAcks = true;
    const sent = Array.from({ length: 9 }, () => delivery());
    for (const d of sent.slice(0, 3)) send(d);
    await until("first batch acknowledged", () => source.acked.length === 3);
    let open = () => {};
    store.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    for (const d of sent.slice(3, 6)) send(d);
    await until("second store call made", () => store.calls.length === 2);
    // The broker confirms the first batch's acknowledgement while the second store call is in flight.
    source.confirmHeldAcks();
    await Bun.sleep(0); // one macrotask turn: every promise continuation of those confirmations has run
    open();
    store.gate = undefined;
    await until("second batch acknowledged", () => source.acked.length === 6);
    for (const d of sent.slice(6)) send(d);
    await until("third batch acknowledged", () => source.acked.length === 9);
    source.holdAcks = false;
    source.confirmHeldAcks();
    await pipeline.drain(1000);
    const ids = sent.map((d) => JSON.parse(new TextDecoder().decode(d.payload)).id.replaceAll("-", ""));
    expect(store.settled.flat().sort()).toEqual(ids.sort());
  });

  test("drain finishes the deliveries in hand, acknowledges them, and clears their ids from the replay guard; twice is harmless", async () => {
    const { source, store, pipeline, send } = setup({ batchMaxSize: 100, batchMaxWaitMs: 10_000 });
    for (let i = 0; i < 5; i++) send(delivery());
    await pipeline.drain(1000);
    // The last store call only tells the store which ids the broker confirmed as acknowledged.
    expect(source.events).toEqual(["store:5+0", "ack:5", "store:0+0"]);
    expect(store.settled.at(-1)).toHaveLength(5);
    await pipeline.drain(1000);
    expect(source.events).toHaveLength(3);
  });

  test("drain hands back what the store could not take within the budget", async () => {
    const { source, store, pipeline, send } = setup({ batchMaxSize: 2, batchMaxWaitMs: 10_000 });
    for (let i = 0; i < 50; i++) store.failures.push(unavailable("down"));
    send(delivery());
    send(delivery());
    await until("store tried", () => source.events.includes("store:fail"));
    await pipeline.drain(100);
    expect(source.acked).toEqual([]);
    expect(source.released).toHaveLength(2);
  });
});
