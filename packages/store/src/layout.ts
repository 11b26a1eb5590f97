/**
 * The store layout, identical in Valkey (RabbitMQ pipeline) and Redis (Kafka pipeline).
 * Dashboards, the demo and the tests read these keys; the Lua script writes them.
 */
export const STORE_KEYS = {
  /** Hash: country -> messages counted. */
  countryCounts: "country_counts",
  /** Hash: weather -> messages counted. */
  weatherCounts: "weather_counts",
  /** Integer: messages counted. */
  totalMessages: "total_messages",
  /** List: the latest envelopes (JSON), newest first, capped at RECENT_MESSAGES_MAX. */
  recentMessages: "recent_messages",
  /** Hash: latency bucket upper bound in ms ("1" ... "10000", "+Inf") -> messages in that bucket (not cumulative). */
  e2eLatencyMs: "e2e_latency_ms",
  /** Integer: deliveries skipped because their id had been counted already. */
  duplicatesTotal: "duplicates_total",
  /** Integer: messages sent to the dead-letter queue/topic. */
  deadLetteredTotal: "dead_lettered_total",
} as const;

/** Dedup key of one message id, with a TTL (DEDUP_TTL_SECONDS). */
export const seenKey = (id: string): string => `seen:${id}`;

export const RECENT_MESSAGES_MAX = 100;

/** Upper bounds (ms) of the end-to-end latency buckets; anything slower lands in "+Inf". */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;
export const LATENCY_FIELDS: readonly string[] = [...LATENCY_BUCKETS_MS.map(String), "+Inf"];

/** The bucket (hash field) a latency falls in: the smallest upper bound >= latency. */
export function latencyField(latencyMs: number): string {
  for (const bound of LATENCY_BUCKETS_MS) if (latencyMs <= bound) return String(bound);
  return "+Inf";
}

/**
 * Percentile estimate from non-cumulative bucket counts: the upper bound of the bucket
 * holding the requested rank (what Prometheus' histogram_quantile reports at a bucket edge).
 */
export function latencyPercentile(buckets: Readonly<Record<string, number>>, percentile: number): string | undefined {
  const total = LATENCY_FIELDS.reduce((sum, field) => sum + (buckets[field] ?? 0), 0);
  if (total === 0) return undefined;
  const rank = Math.ceil((percentile / 100) * total);
  let seen = 0;
  for (const field of LATENCY_FIELDS) {
    seen += buckets[field] ?? 0;
    if (seen >= rank) return field;
  }
  return "+Inf";
}
