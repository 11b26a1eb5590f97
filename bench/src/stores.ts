import {
  dedupBucketKeys,
  forgetDedupState,
  latencyPercentile,
  readSnapshot,
  resetStore,
  STORE_KEYS,
  type StoreSnapshot,
  usedMemory,
} from "@weather/store";
import Valkey from "iovalkey";

export type PipelineName = "rabbitmq-valkey" | "kafka-redis";
export const PIPELINES: readonly PipelineName[] = ["rabbitmq-valkey", "kafka-redis"];

export type { StoreSnapshot } from "@weather/store";

/** What a store holds, for the soak's memory samples. */
export interface StoreMemory {
  /** The server's used_memory (all of its DBs). */
  usedMemory: number;
  /** Keys in the bench's DB. */
  keys: number;
  /** Dedup bucket keys (dedup:<bucket>) in the bench's DB. */
  dedupBuckets: number;
  /** Ids in RabbitMQ's replay guard (counted, acknowledgement not yet confirmed); 0 in the Kafka store. */
  unacknowledged: number;
}
export { LATENCY_FIELDS } from "@weather/store";

/** Reads one pipeline's counters; one connection reused for the whole run. */
export class StoreReader {
  private readonly client: Valkey;

  constructor(
    readonly pipeline: PipelineName,
    readonly url: string,
  ) {
    this.client = new Valkey(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  }

  async total(): Promise<number> {
    return Number((await this.client.get(STORE_KEYS.totalMessages)) ?? 0);
  }

  async memory(): Promise<StoreMemory> {
    const [used, keys, buckets, unacknowledged] = await Promise.all([
      usedMemory(this.client),
      this.client.dbsize(),
      dedupBucketKeys(this.client),
      this.client.zcard(STORE_KEYS.unacknowledged),
    ]);
    return { usedMemory: used, keys, dedupBuckets: buckets.length, unacknowledged };
  }

  snapshot(): Promise<StoreSnapshot> {
    return readSnapshot(this.client);
  }

  /**
   * Clears the layout's keys and the dedup keys (seen:<id>) in the bench's own DB before
   * a phase, so its counts are exactly that phase's and a long series of runs does not
   * pile up hundreds of thousands of dedup keys.
   */
  reset(): Promise<void> {
    return resetStore(this.client);
  }

  /** After a phase: its counters stay readable, its dedup window no longer holds memory. */
  forgetDedupState(): Promise<void> {
    return forgetDedupState(this.client);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Percentile (ms) from non-cumulative buckets: the upper bound of the bucket holding that rank. */
export function bucketPercentile(buckets: Record<string, number>, p: number): number | null {
  const field = latencyPercentile(buckets, p);
  if (field === undefined) return null;
  return field === "+Inf" ? Number.POSITIVE_INFINITY : Number(field);
}
