import type { Progress } from "./progress.ts";
import type { ProcessWatch } from "./resources.ts";
import { PIPELINES, type PipelineName, type StoreMemory, type StoreReader } from "./stores.ts";

/**
 * Runs `tick` every `intervalMs` until stopped, one tick at a time (a slow store read delays the
 * next sample rather than overlapping it). A failed tick is counted and skipped.
 */
export class Ticker {
  #stopped = false;
  #wake: (() => void) | undefined;
  readonly #done: Promise<void>;
  failures = 0;

  constructor(intervalMs: number, tick: () => Promise<void>) {
    this.#done = (async () => {
      while (!this.#stopped) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, intervalMs);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (this.#stopped) break;
        await tick().catch(() => {
          this.failures++;
        });
      }
    })();
  }

  /** Resolves once the tick in progress, if any, has finished. Safe to call twice. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#done;
  }
}

export interface Sample {
  /** Seconds since the load started. */
  t: number;
  apiAccepted: number | null;
  counted: Record<PipelineName, number>;
}

export async function countedNow(readers: Record<PipelineName, StoreReader>): Promise<Record<PipelineName, number>> {
  const [valkey, redis] = await Promise.all(PIPELINES.map((p) => readers[p].total()));
  return { "rabbitmq-valkey": valkey ?? 0, "kafka-redis": redis ?? 0 };
}

/**
 * Once a second from the start of the load: what the API accepted and each store counted, for
 * the throughput chart and the progress line; flags a store whose count went down (someone
 * else cleared the bench's DB, so the phase's counts are not valid).
 */
export class CountSampler {
  readonly samples: Sample[] = [];
  disturbed: string | undefined;
  loadDone = false;
  readonly #startMs = performance.now();
  readonly #ticker: Ticker;

  constructor(
    readers: Record<PipelineName, StoreReader>,
    acceptedNow: () => Promise<number | null>,
    progress: Progress,
    label: string,
    durationS: number,
  ) {
    this.#ticker = new Ticker(1000, async () => {
      const [counted, accepted] = await Promise.all([countedNow(readers), acceptedNow()]);
      const t = this.elapsedS();
      const previous = this.samples.at(-1);
      for (const pipeline of PIPELINES) {
        if (previous && counted[pipeline] < previous.counted[pipeline]) {
          this.disturbed ??= `${pipeline} count fell from ${previous.counted[pipeline]} to ${counted[pipeline]} at ${t.toFixed(1)} s: another process cleared the bench's store DB; this phase's counts are not valid`;
        }
      }
      this.samples.push({ t, apiAccepted: accepted, counted });
      progress.line(
        `${label} ${this.loadDone ? "drain" : "load"} ${t.toFixed(0)}s/${durationS}s  accepted=${accepted ?? "?"}  valkey=${counted["rabbitmq-valkey"]}  redis=${counted["kafka-redis"]}`,
      );
    });
  }

  /** Seconds since the sampler (and the load) started. */
  elapsedS(): number {
    return (performance.now() - this.#startMs) / 1000;
  }

  stop(): Promise<void> {
    return this.#ticker.stop();
  }
}

export interface MemorySample {
  /** Seconds since the load started. */
  t: number;
  /** Resident memory of every process of the phase, by name (bytes). */
  rssBytes: Record<string, number>;
  stores: Record<PipelineName, StoreMemory>;
}

/** Every `intervalS` from the start of the load: each process's RSS and each store's memory and keys. */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  readonly #startMs = performance.now();
  readonly #ticker: Ticker;

  constructor(readers: Record<PipelineName, StoreReader>, watch: ProcessWatch, intervalS: number) {
    const sample = async () => {
      const rssBytes = watch.sample();
      const [valkey, redis] = (await Promise.all(PIPELINES.map((p) => readers[p].memory()))) as [
        StoreMemory,
        StoreMemory,
      ];
      const t = (performance.now() - this.#startMs) / 1000;
      this.samples.push({ t, rssBytes, stores: { "rabbitmq-valkey": valkey, "kafka-redis": redis } });
    };
    // The first sample at once: the memory before any load.
    void sample().catch(() => this.#ticker.failures++);
    this.#ticker = new Ticker(intervalS * 1000, sample);
  }

  get failures(): number {
    return this.#ticker.failures;
  }

  stop(): Promise<void> {
    return this.#ticker.stop();
  }
}
