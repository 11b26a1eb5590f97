import type { Logger } from "@weather/log";
import { ConsumerError } from "../errors.ts";
import type { ConsumerMetrics } from "../metrics.ts";
import type { Delivery, Source } from "../sources/source.ts";
import type { CountStore } from "../store/count-store.ts";
import { classifyBatch } from "./classify.ts";

export interface PipelineOptions {
  batchMaxSize: number;
  batchMaxWaitMs: number;
  /** First pause after a retriable failure; doubles up to 5 s. */
  retryBackoffMs: number;
}

type StoreLike = Pick<CountStore, "countBatch">;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The consumer core, the same for both brokers: buffers deliveries, and for every batch
 * (BATCH_MAX_SIZE messages or BATCH_MAX_WAIT_MS after the first) dead-letters the bad
 * messages, counts the rest in ONE store round trip, and only then acknowledges the batch.
 * Batches are processed one at a time, in delivery order, so acknowledging "up to the
 * last delivery" is exact; deliveries arriving meanwhile form the next batch.
 */
export class CountingPipeline<D extends Delivery> {
  #buffer: D[] = [];
  /** When the oldest buffered delivery arrived (ms), for the BATCH_MAX_WAIT_MS deadline. */
  #oldestAt = 0;
  #wake: (() => void) | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #paused = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #fatal: ((error: Error) => void) | undefined;

  constructor(
    private readonly source: Source<D>,
    private readonly store: StoreLike,
    private readonly metrics: ConsumerMetrics,
    private readonly options: PipelineOptions,
    private readonly log: Logger,
  ) {}

  /** Starts consuming. `onFatal` is called once when the pipeline cannot go on (the process should exit non-zero). */
  async start(onFatal: (error: Error) => void): Promise<void> {
    this.#fatal = onFatal;
    this.#loop = this.#run();
    await this.source.start((delivery) => this.#accept(delivery), onFatal);
  }

  /** Deliveries buffered and not yet in a batch. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /**
   * Stops fetching and finishes the batches in hand within `timeoutMs`; whatever is left
   * is handed back to the broker. Safe to call twice.
   */
  async drain(timeoutMs: number): Promise<void> {
    if (!this.#stopping) {
      this.#stopping = true;
      try {
        await this.source.stop();
      } catch (error) {
        this.log.warn("stopping the source failed", { error });
      }
      this.#wakeUp();
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([this.#loop ?? Promise.resolve(), timedOut]);
    clearTimeout(timer);
    if (outcome === "timeout" && this.#buffer.length > 0) {
      const left = this.#buffer.splice(0);
      this.log.warn("shutdown budget spent; handing deliveries back", { deliveries: left.length });
      await this.source.release(left).catch(() => {});
    }
  }

  #accept(delivery: D): void {
    this.metrics.consumed.inc();
    this.#buffer.push(delivery);
    const size = this.#buffer.length;
    if (size === 1) this.#oldestAt = performance.now();
    if (size >= this.options.batchMaxSize) this.#wakeUp();
    else if (size === 1 && this.#wake) this.#armTimer(this.options.batchMaxWaitMs);
    // Kafka keeps fetching unless told otherwise; hold at two batches' worth (RabbitMQ is bounded by prefetch).
    if (!this.#paused && size >= 2 * this.options.batchMaxSize) {
      this.#paused = true;
      this.source.pause();
    }
  }

  #wakeUp(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #armTimer(ms: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#wakeUp(), Math.max(0, ms));
  }

  /** Resolves when a batch is due: full, past its deadline, or shutting down. */
  #batchDue(): boolean {
    const size = this.#buffer.length;
    if (size === 0) return false;
    return (
      this.#stopping ||
      size >= this.options.batchMaxSize ||
      performance.now() - this.#oldestAt >= this.options.batchMaxWaitMs
    );
  }

  async #run(): Promise<void> {
    for (;;) {
      if (this.#buffer.length === 0 && this.#stopping) return;
      if (!this.#batchDue()) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          if (this.#buffer.length > 0) {
            this.#armTimer(this.options.batchMaxWaitMs - (performance.now() - this.#oldestAt));
          }
        });
        continue;
      }
      const takenAt = performance.now();
      const batch = this.#buffer.splice(0, this.options.batchMaxSize);
      // Deliveries left behind are at least as old as this moment.
      if (this.#buffer.length > 0) this.#oldestAt = takenAt;
      try {
        await this.#process(batch);
      } catch (error) {
        await this.source.release(batch).catch(() => {});
        const failure = error instanceof Error ? error : new Error(String(error));
        if (error instanceof ConsumerError && error.retriable) {
          // Only reached while stopping: the broker redelivers the batch to another replica.
          this.log.warn("batch handed back to the broker", { error: failure, deliveries: batch.length });
        } else {
          this.log.error("batch failed; stopping", { error: failure, deliveries: batch.length });
          this.#stopping = true;
          this.#fatal?.(failure);
          return;
        }
      }
      if (this.#paused && this.#buffer.length < this.options.batchMaxSize) {
        this.#paused = false;
        this.source.resume();
      }
    }
  }

  async #process(taken: D[]): Promise<void> {
    // Deliveries a rebalance made stale come again from the broker; settling them here could even move an offset back.
    const batch = taken.filter((delivery) => !this.source.isStale(delivery));
    if (batch.length < taken.length)
      this.log.info("skipped deliveries fetched before a rebalance", { deliveries: taken.length - batch.length });
    if (batch.length === 0) return;
    const countedAt = Date.now();
    const { valid, acceptedAt, bad } = classifyBatch(batch, countedAt);
    if (bad.length > 0) {
      // Before counting, so a batch is acknowledged only once its bad messages are safe in the DLQ.
      await this.#retrying("dead-letter", () => this.source.deadLetter(bad));
      for (const item of bad) {
        this.metrics.deadLettered.inc({ reason: item.reason });
        this.log.warn("message dead-lettered", { reason: item.reason, detail: item.detail });
      }
    }
    const stopTimer = this.metrics.storeBatchDuration.startTimer();
    const result = await this.#retrying("store", () => this.store.countBatch(valid, bad.length));
    stopTimer();
    this.metrics.batchSize.observe(batch.length);
    this.metrics.counted.inc(result.counted);
    if (result.duplicates > 0) this.metrics.duplicates.inc(result.duplicates);
    for (let i = 0; i < acceptedAt.length; i++) {
      if (result.countedFlags[i]) {
        this.metrics.endToEndLatency.observe(Math.max(0, countedAt - (acceptedAt[i] as number)) / 1000);
      }
    }
    try {
      await this.source.ack(batch);
    } catch (error) {
      // Counted already: the redelivery that follows is recognised as duplicates.
      this.log.warn("acknowledging a counted batch failed; it will be redelivered and skipped", { error });
    }
  }

  /** Runs `step`, retrying retriable failures with backoff until it succeeds or shutdown begins. */
  async #retrying<T>(what: string, step: () => Promise<T>): Promise<T> {
    let backoff = this.options.retryBackoffMs;
    for (;;) {
      try {
        return await step();
      } catch (error) {
        const retriable = error instanceof ConsumerError ? error.retriable : false;
        if (!retriable || this.#stopping) throw error;
        this.log.warn(`${what} failed; retrying`, { error, backoffMs: backoff });
        await sleep(backoff);
        backoff = Math.min(backoff * 2, 5000);
      }
    }
  }
}
