import { type Static, Type } from "@sinclair/typebox";
import { loadConfig } from "@weather/config";

const Port = (fallback: number) => Type.Integer({ minimum: 1, maximum: 65535, default: fallback });

/**
 * Every setting of a consumer, read once from the environment at start-up.
 * Defaults match .env.example (the native services on loopback). One schema serves
 * both deployables; CONSUMER_SOURCE picks the pipeline.
 */
export const ConsumerConfig = Type.Object({
  /** rabbitmq -> Valkey (rabbitmq-consumer) or kafka -> Redis (kafka-consumer). */
  CONSUMER_SOURCE: Type.Union([Type.Literal("rabbitmq"), Type.Literal("kafka")]),
  /** Store address; when unset, VALKEY_URL for rabbitmq and REDIS_URL for kafka. */
  STORE_URL: Type.Optional(Type.String({ pattern: "^rediss?://" })),
  VALKEY_URL: Type.String({ pattern: "^rediss?://", default: "redis://127.0.0.1:6380" }),
  REDIS_URL: Type.String({ pattern: "^rediss?://", default: "redis://127.0.0.1:6379" }),
  /** HTTP port of /healthz, /readyz, /metrics; when unset, RABBITMQ_CONSUMER_PORT or KAFKA_CONSUMER_PORT. */
  HTTP_PORT: Type.Optional(Port(3101)),
  HTTP_HOST: Type.String({ minLength: 1, default: "127.0.0.1" }),
  RABBITMQ_CONSUMER_PORT: Port(3101),
  KAFKA_CONSUMER_PORT: Port(3201),

  RABBITMQ_URL: Type.String({ pattern: "^amqps?://", default: "amqp://guest:guest@127.0.0.1:5672" }),
  RABBITMQ_QUEUE: Type.String({ minLength: 1, maxLength: 200, default: "message" }),
  /** Unacknowledged deliveries the broker may push to one replica; keep >= BATCH_MAX_SIZE. */
  RABBITMQ_PREFETCH: Type.Integer({ minimum: 1, maximum: 65535, default: 1000 }),

  KAFKA_BROKERS: Type.String({ pattern: "^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$", default: "127.0.0.1:9092" }),
  KAFKA_TOPIC: Type.String({ pattern: "^[a-zA-Z0-9._-]{1,249}$", default: "message" }),
  /** Partitions of the topic when this consumer has to create it (the replicas' ceiling). */
  KAFKA_TOPIC_PARTITIONS: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
  KAFKA_GROUP_ID: Type.String({ minLength: 1, default: "kafka-consumer" }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: "kafka-consumer" }),
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 10000 }),
  KAFKA_HEARTBEAT_INTERVAL_MS: Type.Integer({ minimum: 100, default: 1000 }),
  /** Longest a fetch waits on the broker for data; bounds idle latency and shutdown. */
  KAFKA_FETCH_MAX_WAIT_MS: Type.Integer({ minimum: 1, maximum: 10000, default: 100 }),
  /** Upper bound of one fetch response (about 1,000 envelopes per 256 KiB). */
  KAFKA_FETCH_MAX_BYTES: Type.Integer({ minimum: 1024, default: 262144 }),

  /** A batch is written to the store as soon as it holds this many messages... */
  BATCH_MAX_SIZE: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
  /** ...or this long after its first message arrived, whichever comes first. */
  BATCH_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 10000, default: 20 }),
  /** How long a message id is remembered for deduplication (default 24 h). */
  DEDUP_TTL_SECONDS: Type.Integer({ minimum: 1, default: 86400 }),
  /** Store retries of a batch after a retriable error, before it is handed back to the broker. */
  STORE_RETRY_BACKOFF_MS: Type.Integer({ minimum: 1, maximum: 60000, default: 200 }),
  /** How often queue depth / consumer lag is refreshed for /metrics. */
  BACKLOG_POLL_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),
  /** SIGTERM: the batch in hand is finished within this budget (the platform allows 10 s). */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 8000 }),
  LOG_LEVEL: Type.Union([Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error")], {
    default: "info",
  }),
});
export type ConsumerConfig = Static<typeof ConsumerConfig>;

export type Pipeline = "rabbitmq-valkey" | "kafka-redis";

/** Config with the per-source fallbacks resolved. */
export interface ResolvedConsumerConfig extends ConsumerConfig {
  readonly STORE_URL: string;
  readonly HTTP_PORT: number;
  readonly pipeline: Pipeline;
}

export function loadConsumerConfig(env: Record<string, string | undefined> = process.env): ResolvedConsumerConfig {
  const config = loadConfig(ConsumerConfig, env);
  const rabbit = config.CONSUMER_SOURCE === "rabbitmq";
  return Object.freeze({
    ...config,
    STORE_URL: config.STORE_URL ?? (rabbit ? config.VALKEY_URL : config.REDIS_URL),
    HTTP_PORT: config.HTTP_PORT ?? (rabbit ? config.RABBITMQ_CONSUMER_PORT : config.KAFKA_CONSUMER_PORT),
    pipeline: rabbit ? "rabbitmq-valkey" : "kafka-redis",
  });
}
