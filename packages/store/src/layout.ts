import { LATENCY_BUCKETS_MS } from "@weather/metrics";

/**
 * The store layout, identical in Valkey (RabbitMQ pipeline) and Redis (Kafka pipeline).
 * Dashboards, the demo and the tests read these keys; the count script writes them.
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
  /** Hash: latency bucket upper bound in ms (see LATENCY_FIELDS) -> messages in that bucket (not cumulative). */
  e2eLatencyMs: "e2e_latency_ms",
  /** Integer: messages skipped because their id was counted within the dedup window (client retries, re-publishes). */
  duplicatesTotal: "duplicates_total",
  /** Integer: broker replays skipped (Kafka records at or below the counted offset, RabbitMQ redeliveries of counted ids). */
  replaysTotal: "replays_total",
  /** Integer: messages sent to the dead-letter queue/topic. */
  deadLetteredTotal: "dead_lettered_total",
  /**
   * Sorted set (RabbitMQ pipeline): ids counted whose acknowledgement the broker has not yet
   * confirmed, scored by when they were counted. A redelivered message found here was counted
   * already, however long the redelivery took; an id leaves once its ack is confirmed.
   */
  unacknowledged: "dedup:unacked",
} as const;

/** Key patterns of state that grows with traffic, each with its bound (docs/consumers.md). */
export const STATE_KEY_PATTERNS = ["dedup:*", "offsets:*"] as const;

/**
 * The dedup window: a set per time bucket of DEDUP_WINDOW_SECONDS / DEDUP_BUCKETS seconds, holding
 * the 16-byte ids counted during it, expiring a window after the bucket ends. An id is looked up
 * in the current bucket and the DEDUP_BUCKETS before it, so it is remembered for at least the
 * window and at most a bucket longer.
 */
export const DEDUP_BUCKETS = 4;
export const dedupBucketKey = (bucket: number): string => `dedup:${bucket}`;

/**
 * Hash (Kafka pipeline): partition -> highest offset counted, for one topic incarnation (its
 * Kafka topic id, so a topic deleted and created again starts afresh). Stored by the same script
 * call that counts, so a record at or below it is a replay whatever the consumer group did.
 */
export const kafkaOffsetsKey = (topic: string, topicId: string): string => `offsets:${topic}:${topicId}`;

/** A message id (UUID text, any case) as the 16 bytes the dedup sets hold. */
export function idBytes(id: string): Buffer {
  return Buffer.from(id.replaceAll("-", ""), "hex");
}

export const RECENT_MESSAGES_MAX = 100;

/** The end-to-end buckets' upper bounds (ms): the system's one latency scale (@weather/metrics). */
export { LATENCY_BUCKETS_MS };
export const LATENCY_FIELDS: readonly string[] = [...LATENCY_BUCKETS_MS.map(String), "+Inf"];

/** The bucket (hash field) a latency falls in: the smallest upper bound >= latency (binary search). */
export function latencyField(latencyMs: number): string {
  let low = 0;
  let high = LATENCY_BUCKETS_MS.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((LATENCY_BUCKETS_MS[mid] as number) < latencyMs) low = mid + 1;
    else high = mid;
  }
  return LATENCY_FIELDS[low] as string;
}

/**
 * Nearest-rank percentile from non-cumulative bucket counts: the upper bound of the bucket holding
 * the requested rank (what Prometheus' histogram_quantile reports at a bucket edge).
 */
export function latencyPercentile(buckets: Readonly<Record<string, number>>, percentile: number): string | undefined {
  const total = LATENCY_FIELDS.reduce((sum, field) => sum + (buckets[field] ?? 0), 0);
  if (total === 0) return undefined;
  const rank = nearestRank(total, percentile);
  let seen = 0;
  for (const field of LATENCY_FIELDS) {
    seen += buckets[field] ?? 0;
    if (seen >= rank) return field;
  }
  return "+Inf";
}

/** The 1-based nearest rank of percentile `p` among `n` ordered values: the one rank rule of the repository. */
export function nearestRank(n: number, p: number): number {
  return Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
}
