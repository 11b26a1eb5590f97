import type { Logger } from "@weather/log";
import type { ApiConfig } from "../config.ts";
import type { ApiMetrics } from "../observability/metrics.ts";
import { createKafkaProducer } from "./kafka/index.ts";
import { KafkaPublisher } from "./kafka/publisher.ts";
import { RabbitMqPublisher } from "./rabbitmq.ts";

/** Each close step of a broker client is bounded, so that SIGTERM ends within its budget even mid-outage (server.ts). */
export const BROKER_CLOSE_TIMEOUT_MS = 1500;

/** Both publishers, wired to the broker-up gauge. Call start() on each to connect. */
export function createBrokers(config: ApiConfig, logger: Logger, metrics: ApiMetrics) {
  const reconnect = { initialMs: config.BROKER_RECONNECT_MS, maxMs: config.BROKER_RECONNECT_MAX_MS };
  const rabbitmq = new RabbitMqPublisher({
    url: config.RABBITMQ_URL,
    queue: config.RABBITMQ_QUEUE,
    type: config.RABBITMQ_QUEUE_TYPE,
    deliveryLimit: config.RABBITMQ_DELIVERY_LIMIT,
    quorumGroupSize: config.RABBITMQ_QUORUM_GROUP_SIZE,
    reconnect,
    closeTimeoutMs: BROKER_CLOSE_TIMEOUT_MS,
    logger,
    onStateChange: (up) => metrics.setBrokerUp("rabbitmq", up),
  });
  const kafka = new KafkaPublisher({
    producer: createKafkaProducer(config.KAFKA_CLIENT, {
      clientId: config.KAFKA_CLIENT_ID,
      brokers: config.KAFKA_BROKERS.split(","),
      topic: config.KAFKA_TOPIC,
      partitions: config.KAFKA_TOPIC_PARTITIONS,
      replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      requestTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    }),
    lingerMs: config.KAFKA_LINGER_MS,
    batchMaxMessages: config.KAFKA_BATCH_MAX_MESSAGES,
    reconnect,
    healthCheckIntervalMs: config.KAFKA_HEALTH_CHECK_INTERVAL_MS,
    closeTimeoutMs: BROKER_CLOSE_TIMEOUT_MS,
    logger,
    onStateChange: (up) => metrics.setBrokerUp("kafka", up),
  });
  return { rabbitmq, kafka };
}
