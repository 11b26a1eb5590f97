import { Type } from "@sinclair/typebox";

/**
 * Settings more than one service reads, defined once and spread into each service's config
 * schema. Defaults are the native stack on loopback and match .env.example (a test checks).
 */

export const Port = (fallback: number) => Type.Integer({ minimum: 1, maximum: 65535, default: fallback });

/** Natively a server listens on loopback only; images and manifests set 0.0.0.0. */
export const ListenHost = Type.String({ minLength: 1, default: "127.0.0.1" });

export const LogLevel = Type.Union(
  [Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error")],
  { default: "info" },
);

const RedisUrl = (fallback: string) => Type.String({ pattern: "^rediss?://", default: fallback });

/**
 * One AMQP URL, or several nodes of one cluster separated by commas: clients try each in turn
 * (rabbitmqUrls and RabbitMqNodes in @weather/brokers).
 */
export const RabbitMqUrls = (fallback: string) =>
  Type.String({ pattern: "^amqps?://[^,\\s]+(,amqps?://[^,\\s]+)*$", default: fallback });

/** host:port, or several brokers of one cluster separated by commas (the Kafka client's bootstrap list). */
export const KafkaBrokers = (fallback: string) =>
  Type.String({ pattern: "^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$", default: fallback });

/** Where the brokers are, and the queue and topic both sides must agree on. */
export const BrokerFields = {
  RABBITMQ_URL: RabbitMqUrls("amqp://guest:guest@127.0.0.1:5672"),
  RABBITMQ_QUEUE: Type.String({ minLength: 1, maxLength: 200, default: "message" }),
  /** quorum (replicated, RabbitMQ's recommended durable queue) or classic (one replica). */
  RABBITMQ_QUEUE_TYPE: Type.Union([Type.Literal("quorum"), Type.Literal("classic")], { default: "quorum" }),
  /** Quorum queues: deliveries of one message before the broker dead-letters it (a message that crashes consumers). */
  RABBITMQ_DELIVERY_LIMIT: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
  /**
   * Quorum queues: replicas of a queue when a service has to declare it (x-quorum-initial-group-size);
   * unset, the broker's own default (every node of the cluster, up to its configured maximum).
   */
  RABBITMQ_QUORUM_GROUP_SIZE: Type.Optional(Type.Integer({ minimum: 1, maximum: 99 })),
  KAFKA_BROKERS: KafkaBrokers("127.0.0.1:9092"),
  KAFKA_TOPIC: Type.String({ pattern: "^[a-zA-Z0-9._-]{1,249}$", default: "message" }),
  /** Partitions of the topic when a service has to create it (the consumer replicas' ceiling). */
  KAFKA_TOPIC_PARTITIONS: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
  /** Copies of each partition when a service has to create the topic; min.insync.replicas is one less. */
  KAFKA_REPLICATION_FACTOR: Type.Integer({ minimum: 1, maximum: 7, default: 1 }),
  LOG_LEVEL: LogLevel,
};

/** The two stores: Valkey counts the RabbitMQ pipeline, Redis the Kafka pipeline. */
export const StoreFields = {
  VALKEY_URL: RedisUrl("redis://127.0.0.1:6380"),
  REDIS_URL: RedisUrl("redis://127.0.0.1:6379"),
};

/**
 * Everything outside the services (tests, the bench, the demo) needs to reach the native stack:
 * the services' shared fields plus the servers' own ports (scripts/services.sh, scripts/dev.sh).
 */
export const StackConfig = Type.Object({
  ...BrokerFields,
  ...StoreFields,
  BIND_HOST: ListenHost,
  RABBITMQ_MANAGEMENT_PORT: Port(15672),
  PROMETHEUS_PORT: Port(9090),
  API_PORT: Port(3000),
  RABBITMQ_CONSUMER_PORT: Port(3101),
  KAFKA_CONSUMER_PORT: Port(3201),
  /** The HA topology's nodes (TOPOLOGY=ha), for tests and tools that reach both topologies. */
  RABBITMQ_HA_URL: RabbitMqUrls(
    "amqp://guest:guest@127.0.0.1:5681,amqp://guest:guest@127.0.0.1:5682,amqp://guest:guest@127.0.0.1:5683",
  ),
  KAFKA_HA_BROKERS: KafkaBrokers("127.0.0.1:9192,127.0.0.1:9193,127.0.0.1:9194"),
  KAFKA_HA_REPLICATION_FACTOR: Type.Integer({ minimum: 1, maximum: 7, default: 3 }),
  RABBITMQ_HA_QUORUM_GROUP_SIZE: Type.Integer({ minimum: 1, maximum: 99, default: 3 }),
});
