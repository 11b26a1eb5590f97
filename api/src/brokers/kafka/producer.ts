import type { KafkaTopicSettings } from "@weather/brokers";

/** One Kafka record: keyed by message id so that a retry lands on the same partition. */
export interface KafkaRecord {
  key: string;
  value: Buffer;
}

export interface KafkaProducerOptions extends KafkaTopicSettings {
  clientId: string;
  brokers: string[];
  topic: string;
  /** Bound on one produce request (and on connecting). */
  requestTimeoutMs: number;
}

/**
 * The small surface the API needs from a Kafka client, so that clients can be
 * swapped (KAFKA_CLIENT) and measured against each other. Implementations use an
 * idempotent producer with acks=all and a key-hash partitioner compatible with
 * the Java client (murmur2), so both pick the same partition for a key.
 */
export interface KafkaProducer {
  readonly client: "kafkajs" | "platformatic";
  /** Produce requests the client can safely keep in flight with idempotence on. */
  readonly maxInFlight: number;
  /** Connects and creates the topic if it is missing. */
  connect(): Promise<void>;
  /** One produce request; resolves when every partition leader has acknowledged (acks=all). */
  send(records: readonly KafkaRecord[]): Promise<void>;
  /** A cheap round trip to the cluster, used to notice recovery. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
