/**
 * The metric names and store keys the services promise (project conventions); the
 * dashboards may read nothing else. `up` is Prometheus's own per-target series.
 */
export const API_METRICS = [
  "api_http_requests_total",
  "api_http_request_duration_seconds",
  "api_http_requests_in_flight",
  "api_messages_accepted_total",
  "api_broker_publish_duration_seconds",
  "api_partial_publishes_total",
  "api_broker_up",
  "api_repair_queue_messages",
  "api_repaired_messages_total",
  "api_repair_abandoned_messages_total",
] as const;

export const CONSUMER_METRICS = [
  "consumer_messages_consumed_total",
  "consumer_messages_counted_total",
  "consumer_duplicates_total",
  "consumer_replays_total",
  "consumer_dead_lettered_total",
  "consumer_batch_size",
  "consumer_store_batch_duration_seconds",
  "consumer_end_to_end_latency_seconds",
  "consumer_kafka_lag",
  "consumer_rabbitmq_queue_depth",
  "consumer_up",
  "consumer_ready",
  "consumer_broker_reconnects_total",
  "consumer_retries_total",
] as const;

export const KNOWN_METRICS: ReadonlySet<string> = new Set<string>([...API_METRICS, ...CONSUMER_METRICS, "up"]);

export const STORE_KEYS: ReadonlySet<string> = new Set([
  "country_counts",
  "weather_counts",
  "total_messages",
  "recent_messages",
  "e2e_latency_ms",
  "duplicates_total",
  "replays_total",
  "dead_lettered_total",
]);

/** Deployables, as Prometheus job names on every stack. */
export const JOBS = ["api", "rabbitmq-consumer", "kafka-consumer"] as const;
