import { Backoff, type BackoffOptions, retry, withTimeout } from "@weather/async";
import { isRetriable } from "@weather/brokers";
import type { Logger } from "@weather/log";
import type { ConsumerMetrics } from "../metrics.ts";
import type { Delivery, Source } from "../sources/source.ts";
import type { CountableMessage, CountStore } from "../store/count-store.ts";
import { classifyBatch } from "./classify.ts";

export interface PipelineOptions {
  batchMaxSize: number;
  /**
   * How long a batch smaller than batchMaxSize may wait for more messages. 0 (the default) takes
   * whatever has arrived: low load gives small batches and low latency, high load big batches.
   */
  batchMaxWaitMs: number;
  /** Pauses between retries of a failed store or dead-letter step. */
  retry: BackoffOptions;
}

type StoreLike = Pick<CountStore, "countBatch">;
type Settler<D extends Delivery> = Pick<
  Source<D>,
  "pause" | "resume" | "deadLetter" | "ack" | "release" | "replayGuardKey"
>;

/**
 * The consumer core, the same for both brokers. It takes deliveries in broker order and, one
 * batch at a time, dead-letters the bad messages, counts the rest in ONE store round trip, and
 * only then acknowledges the batch. Nothing it was given is ever dropped: a delivery is counted
 * (the store recognises one counted before) or handed back, so a rebalance or reconnection can
 * only cause replays, never loss. Deliveries arriving during a batch form the next one.
 */
export class CountingPipeline<D extends Delivery> {
  #buffer: D[] = [];
  /** When the oldest buffered delivery arrived (ms), for batchMaxWaitMs. */
  #oldestAt = 0;
  #wake: (() => void) | undefined;
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #paused = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #fatal: ((error: Error) => void) | undefined;
  #drained: Promise<void> | undefined;
  #stalled = false;
  /** Ids whose acknowledgement the broker confirmed since the last store call: the store forgets them as unacknowledged. */
  #settled: Buffer[] = [];
  /** Acknowledgements sent and not yet confirmed; the next batch does not wait for them, a drain does. */
  readonly #acks = new Set<Promise<void>>();

  readonly #source: Settler<D>;
  readonly #store: StoreLike;
  readonly #metrics: ConsumerMetrics;
  readonly #options: PipelineOptions;
  readonly #logger: Logger;
  constructor(
    source: Settler<D>,
    store: StoreLike,
    metrics: ConsumerMetrics,
    options: PipelineOptions,
    logger: Logger,
  ) {
    this.#source = source;
    this.#store = store;
    this.#metrics = metrics;
    this.#options = options;
    this.#logger = logger;
  }

  /** Starts the batch loop. `onFatal` is called once when the pipeline cannot go on (the process should exit non-zero). */
  start(onFatal: (error: Error) => void): void {
    this.#fatal = onFatal;
    this.#loop ??= this.#run();
  }

  /** True while a step (store write, dead-lettering) is failing and being retried: nothing is acknowledged meanwhile. */
  get stalled(): boolean {
    return this.#stalled;
  }

  /** The source's sink: one delivery, in broker order. */
  readonly accept = (delivery: D): void => {
    const size = this.#buffer.push(delivery);
    if (size === 1) this.#oldestAt = performance.now();
    if (this.#options.batchMaxWaitMs === 0 || size >= this.#options.batchMaxSize) this.#wakeUp();
    else if (size === 1 && this.#wake) this.#armLinger();
    // Kafka keeps fetching unless told otherwise; hold at two batches' worth (RabbitMQ is bounded by prefetch).
    if (!this.#paused && size >= 2 * this.#options.batchMaxSize) {
      this.#paused = true;
      this.#source.pause();
    }
  };

  /**
   * Finishes the deliveries in hand within `timeoutMs` (the caller has stopped the source);
   * whatever is left is handed back to the broker. Safe to call twice.
   */
  drain(timeoutMs: number): Promise<void> {
    this.#drained ??= (async () => {
      this.#stopping = true;
      this.#wakeUp();
      const until = performance.now() + timeoutMs;
      try {
        await withTimeout(this.#loop ?? Promise.resolve(), timeoutMs, "draining the batches in hand");
      } catch {
        const left = this.#buffer.splice(0);
        this.#logger.warn("shutdown budget spent; handing deliveries back", { deliveries: left.length });
        if (left.length > 0) await this.#source.release(left).catch(() => {});
      }
      await this.#settleConfirmed(Math.max(0, until - performance.now()));
    })();
    return this.#drained;
  }

  #wakeUp(): void {
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Waits until a delivery arrives or, with batchMaxWaitMs, until the batch is full or old enough. */
  #nextBatchDue(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
      if (this.#buffer.length > 0) this.#armLinger();
    });
  }

  /** Wakes the loop when the oldest buffered delivery has waited batchMaxWaitMs. */
  #armLinger(): void {
    clearTimeout(this.#lingerTimer);
    const left = this.#options.batchMaxWaitMs - (performance.now() - this.#oldestAt);
    this.#lingerTimer = setTimeout(() => this.#wakeUp(), Math.max(0, left));
  }

  #batchDue(): boolean {
    const size = this.#buffer.length;
    if (size === 0) return false;
    if (this.#stopping || size >= this.#options.batchMaxSize || this.#options.batchMaxWaitMs === 0) return true;
    return performance.now() - this.#oldestAt >= this.#options.batchMaxWaitMs;
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#buffer.length === 0 && this.#stopping) return;
      if (!this.#batchDue()) {
        await this.#nextBatchDue();
        continue;
      }
      const batch = this.#buffer.splice(0, this.#options.batchMaxSize);
      if (this.#buffer.length > 0) this.#oldestAt = performance.now();
      try {
        await this.#process(batch);
      } catch (error) {
        await this.#source.release(batch).catch(() => {});
        const failure = error instanceof Error ? error : new Error(String(error));
        if (isRetriable(error)) {
          // Only reached while stopping: the broker redelivers the batch to another replica.
          this.#logger.warn("batch handed back to the broker", { error: failure, deliveries: batch.length });
        } else {
          this.#logger.error("batch failed; stopping", { error: failure, deliveries: batch.length });
          this.#stopping = true;
          this.#fatal?.(failure);
          return;
        }
      }
      if (this.#paused && this.#buffer.length < this.#options.batchMaxSize) {
        this.#paused = false;
        this.#source.resume();
      }
    }
  }

  async #process(batch: D[]): Promise<void> {
    this.#metrics.consumed.inc(batch.length); // per batch, not per delivery: the hot path stays free of it
    const countedAt = Date.now();
    const { valid, acceptedAt, validDeliveries, bad } = classifyBatch(batch, countedAt);
    if (bad.length > 0) {
      // Before counting, so a batch is acknowledged only once its bad messages are safe in the DLQ.
      await this.#retrying("dead-letter", () => this.#source.deadLetter(bad));
      for (const item of bad) {
        this.#metrics.deadLettered.inc({ reason: item.reason });
        this.#logger.warn("message dead-lettered", { reason: item.reason, detail: item.detail });
      }
    }
    const guard = this.#source.replayGuardKey;
    if (guard === undefined) throw new Error("a delivery before the source was connected");
    // Taken before the call: acknowledgements confirmed while it is in flight go to the next call
    // (clearing the list after the call dropped them, and their ids stayed in the replay guard).
    const settled = this.#settled;
    this.#settled = [];
    const storeStarted = performance.now();
    let result: Awaited<ReturnType<StoreLike["countBatch"]>>;
    try {
      result = await this.#retrying("store", () => this.#store.countBatch(valid, bad.length, guard, settled));
    } catch (error) {
      this.#settled = settled.concat(this.#settled); // not sent: the next call (or the drain) sends them
      throw error;
    }
    this.#metrics.storeBatchDuration.observe((performance.now() - storeStarted) / 1000);
    this.#metrics.batchSize.observe(batch.length);
    this.#metrics.counted.inc(result.counted);
    if (result.duplicates > 0) this.#metrics.duplicates.inc(result.duplicates);
    if (result.replays > 0) this.#metrics.replays.inc(result.replays);
    for (let i = 0; i < acceptedAt.length; i++) {
      if (result.countedFlags[i]) {
        this.#metrics.endToEndLatency.observe(Math.max(0, countedAt - (acceptedAt[i] as number)) / 1000);
      }
    }
    // The next batch does not wait for the broker's confirmation; ids leave the replay guard once it comes.
    const acking = this.#source.ack(batch).then(
      (acknowledged) => {
        const confirmed = new Set(acknowledged);
        for (let i = 0; i < valid.length; i++) {
          if (confirmed.has(validDeliveries[i] as D)) this.#settled.push((valid[i] as CountableMessage).id);
        }
      },
      (error: unknown) => {
        // Counted already: the redelivery that follows is recognised by the store and skipped.
        this.#logger.warn("acknowledging a counted batch failed; it will be redelivered and skipped", { error });
      },
    );
    this.#acks.add(acking);
    void acking.finally(() => this.#acks.delete(acking));
  }

  /**
   * At shutdown: waits for the acknowledgements in flight, then tells the store which ids left the
   * broker for good, so that a clean stop leaves nothing in the replay guard. Best effort, bounded.
   */
  async #settleConfirmed(timeoutMs: number): Promise<void> {
    const guard = this.#source.replayGuardKey;
    try {
      await withTimeout(Promise.all(this.#acks), timeoutMs, "acknowledgements in flight");
      if (this.#settled.length === 0 || guard === undefined) return;
      const settled = this.#settled;
      this.#settled = [];
      await withTimeout(this.#store.countBatch([], 0, guard, settled), timeoutMs, "settling the replay guard");
    } catch (error) {
      this.#logger.warn("acknowledgements not confirmed at shutdown; their ids stay in the replay guard", { error });
    }
  }

  /** Runs `step`, retrying retriable failures with backoff until it succeeds or shutdown begins. */
  async #retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    const result = await retry(step, {
      backoff: new Backoff(this.#options.retry),
      retriable: isRetriable,
      stopped: () => this.#stopping,
      onRetry: (error, delayMs) => {
        this.#stalled = true;
        const code = (error as { code?: unknown } | null)?.code;
        this.#metrics.retries.inc({ step: what, reason: typeof code === "string" ? code : "broker" });
        this.#logger.warn(`${what} failed; retrying`, { error, delayMs });
      },
    });
    this.#stalled = false;
    return result;
  }
}
