import Valkey from "iovalkey";

export type PipelineName = "rabbitmq-valkey" | "kafka-redis";
export const PIPELINES: readonly PipelineName[] = ["rabbitmq-valkey", "kafka-redis"];

/** The documented store layout (docs and consumers/src/store/layout.ts). */
const KEYS = {
  countryCounts: "country_counts",
  weatherCounts: "weather_counts",
  totalMessages: "total_messages",
  recentMessages: "recent_messages",
  e2eLatencyMs: "e2e_latency_ms",
  duplicatesTotal: "duplicates_total",
  deadLetteredTotal: "dead_lettered_total",
} as const;

export const LATENCY_FIELDS = [
  "1",
  "2",
  "5",
  "10",
  "25",
  "50",
  "100",
  "250",
  "500",
  "1000",
  "2500",
  "5000",
  "10000",
  "+Inf",
];

export interface StoreSnapshot {
  total: number;
  duplicates: number;
  deadLettered: number;
  countries: Record<string, number>;
  weathers: Record<string, number>;
  /** Non-cumulative counts per latency bucket (upper bound in ms). */
  latencyBuckets: Record<string, number>;
}

function toCounts(hash: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(hash).map(([key, value]) => [key, Number(value)]));
}

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
    return Number((await this.client.get(KEYS.totalMessages)) ?? 0);
  }

  async snapshot(): Promise<StoreSnapshot> {
    const [total, duplicates, deadLettered, countries, weathers, latency] = (await this.client
      .multi()
      .get(KEYS.totalMessages)
      .get(KEYS.duplicatesTotal)
      .get(KEYS.deadLetteredTotal)
      .hgetall(KEYS.countryCounts)
      .hgetall(KEYS.weatherCounts)
      .hgetall(KEYS.e2eLatencyMs)
      .exec()) as [Error | null, unknown][];
    return {
      total: Number(total?.[1] ?? 0),
      duplicates: Number(duplicates?.[1] ?? 0),
      deadLettered: Number(deadLettered?.[1] ?? 0),
      countries: toCounts((countries?.[1] ?? {}) as Record<string, string>),
      weathers: toCounts((weathers?.[1] ?? {}) as Record<string, string>),
      latencyBuckets: toCounts((latency?.[1] ?? {}) as Record<string, string>),
    };
  }

  /**
   * Clears the layout's keys and the dedup keys (seen:<id>) in the bench's own DB before
   * a phase, so its counts are exactly that phase's and a long series of runs does not
   * pile up hundreds of thousands of dedup keys.
   */
  async reset(): Promise<void> {
    await this.client.del(...Object.values(KEYS));
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", "seen:*", "COUNT", 5000);
      if (keys.length > 0) await this.client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Percentile from non-cumulative buckets: the upper bound of the bucket holding that rank. */
export function bucketPercentile(buckets: Record<string, number>, p: number): number | null {
  const total = LATENCY_FIELDS.reduce((sum, field) => sum + (buckets[field] ?? 0), 0);
  if (total === 0) return null;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (const field of LATENCY_FIELDS) {
    seen += buckets[field] ?? 0;
    if (seen >= rank) return field === "+Inf" ? Number.POSITIVE_INFINITY : Number(field);
  }
  return Number.POSITIVE_INFINITY;
}
