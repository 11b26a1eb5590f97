import { type Static, Type } from "@sinclair/typebox";
import { BrokerFields, ListenHost, loadConfig, Port, StoreFields } from "@weather/config";

/**
 * Every setting of a consumer, read once from the environment at start-up. One schema serves
 * both deployables; CONSUMER_SOURCE picks the pipeline. Defaults are the native stack.
 */
export const ConsumerConfig = Type.Object({
  ...BrokerFields,
  ...StoreFields,
  /** rabbitmq -> Valkey (rabbitmq-consumer) or kafka -> Redis (kafka-consumer). */
  CONSUMER_SOURCE: Type.Union([Type.Literal("rabbitmq"), Type.Literal("kafka")]),
  /** Store address; when unset, VALKEY_URL for rabbitmq and REDIS_URL for kafka. */
  STORE_URL: Type.Optional(Type.String({ pattern: "^rediss?://" })),
  /** HTTP port of /healthz, /readyz, /metrics. */
  HTTP_PORT: Port(3100),
  HTTP_HOST: ListenHost,

  /** Unacknowledged deliveries the broker may push to one replica; keep >= BATCH_MAX_SIZE. */
  RABBITMQ_PREFETCH: Type.Integer({ minimum: 1, maximum: 65535, default: 1000 }),
  KAFKA_GROUP_ID: Type.String({ minLength: 1, default: "kafka-consumer" }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: "kafka-consumer" }),
  KAFKA_SESSION_TIMEOUT_MS: Type.Integer({ minimum: 1000, default: 10000 }),
  KAFKA_HEARTBEAT_INTERVAL_MS: Type.Integer({ minimum: 100, default: 1000 }),
  /** Longest a fetch waits on the broker for data; bounds idle latency and shutdown. */
  KAFKA_FETCH_MAX_WAIT_MS: Type.Integer({ minimum: 1, maximum: 10000, default: 100 }),
  /**
   * Bytes a fetch waits for (up to KAFKA_FETCH_MAX_WAIT_MS) before the broker answers: 1 answers
   * with the first record; more trades that wait for fewer, larger fetches (docs/consumers.md).
   */
  KAFKA_FETCH_MIN_BYTES: Type.Integer({ minimum: 1, maximum: 1048576, default: 1 }),
  /** Upper bound of one fetch response (about 1,000 envelopes per 256 KiB). */
  KAFKA_FETCH_MAX_BYTES: Type.Integer({ minimum: 1024, default: 262144 }),

  /** Most messages one store round trip carries. */
  BATCH_MAX_SIZE: Type.Integer({ minimum: 1, maximum: 5000, default: 500 }),
  /** How long a smaller batch may wait for more; 0 takes whatever has arrived (lowest latency). */
  BATCH_MAX_WAIT_MS: Type.Integer({ minimum: 0, maximum: 10000, default: 0 }),
  /**
   * How long a counted id is remembered against client retries and re-publishes with the same id
   * (broker replays are recognised without it: Kafka offsets, RabbitMQ unacknowledged ids). It must
   * cover a client's retry period and the API's repair of partial publishes (docs/consumers.md).
   */
  DEDUP_WINDOW_SECONDS: Type.Integer({ minimum: 4, maximum: 7 * 86400, default: 600 }),
  /** RabbitMQ: a counted id whose acknowledgement was never confirmed (its consumer died) is kept this long. */
  DEDUP_UNACKED_MAX_AGE_SECONDS: Type.Integer({ minimum: 60, default: 7 * 86400 }),
  /** First pause after a failed store, broker or dead-letter step; doubles up to RETRY_MAX_BACKOFF_MS. */
  RETRY_BACKOFF_MS: Type.Integer({ minimum: 1, maximum: 60000, default: 100 }),
  RETRY_MAX_BACKOFF_MS: Type.Integer({ minimum: 1, maximum: 300000, default: 5000 }),
  /** Bound on one store round trip, an offset commit, and each close step. */
  OPERATION_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 5000 }),
  /** How often queue depth / consumer lag is refreshed for /metrics. */
  BACKLOG_POLL_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),
  /** SIGTERM: the batch in hand is finished within this budget (the platform allows 10 s). */
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 8000 }),
});
export type ConsumerConfig = Static<typeof ConsumerConfig>;

export type Pipeline = "rabbitmq-valkey" | "kafka-redis";

/** Config with the per-source fallbacks resolved. */
export interface ResolvedConsumerConfig extends ConsumerConfig {
  readonly STORE_URL: string;
  readonly pipeline: Pipeline;
}

export function loadConsumerConfig(env: Record<string, string | undefined> = process.env): ResolvedConsumerConfig {
  const config = loadConfig(ConsumerConfig, env);
  const rabbit = config.CONSUMER_SOURCE === "rabbitmq";
  return Object.freeze({
    ...config,
    STORE_URL: config.STORE_URL ?? (rabbit ? config.VALKEY_URL : config.REDIS_URL),
    pipeline: rabbit ? "rabbitmq-valkey" : "kafka-redis",
  });
}
