import { type Static, Type } from "@sinclair/typebox";
import { loadConfig } from "@weather/config";

/**
 * Every setting of the API, read once from the environment at start-up.
 * Defaults match .env.example (the native services on loopback).
 */
export const ApiConfig = Type.Object({
  API_PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3000 }),
  API_HOST: Type.String({ minLength: 1, default: "127.0.0.1" }),
  RABBITMQ_URL: Type.String({ pattern: "^amqps?://", default: "amqp://guest:guest@127.0.0.1:5672" }),
  RABBITMQ_QUEUE: Type.String({ minLength: 1, maxLength: 200, default: "message" }),
  KAFKA_BROKERS: Type.String({ pattern: "^[^,\\s]+:\\d+(,[^,\\s]+:\\d+)*$", default: "127.0.0.1:9092" }),
  KAFKA_TOPIC: Type.String({ pattern: "^[a-zA-Z0-9._-]{1,249}$", default: "message" }),
  KAFKA_TOPIC_PARTITIONS: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
  KAFKA_CLIENT: Type.Union([Type.Literal("platformatic"), Type.Literal("kafkajs")], { default: "platformatic" }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: "weather-api" }),
  /** Longest a produce request waits for more messages from concurrent HTTP requests. */
  KAFKA_LINGER_MS: Type.Number({ minimum: 0, maximum: 1000, default: 2 }),
  /** A produce request is sent as soon as this many messages are waiting. */
  KAFKA_BATCH_MAX_MESSAGES: Type.Integer({ minimum: 1, maximum: 100000, default: 100 }),
  /** Bound on waiting for both brokers to confirm a message before answering 503. */
  PUBLISH_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 120000, default: 5000 }),
  /** Seconds a client is told to wait (Retry-After) after a 503. */
  RETRY_AFTER_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 1 }),
  BODY_MAX_BYTES: Type.Integer({ minimum: 1, default: 16384 }),
  BATCH_BODY_MAX_BYTES: Type.Integer({ minimum: 1, default: 1048576 }),
  BATCH_MAX_MESSAGES: Type.Integer({ minimum: 1, maximum: 10000, default: 500 }),
  /** While Kafka is up, how often it is pinged so that readiness notices an outage between requests. */
  KAFKA_HEALTH_CHECK_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),
  /** How often a broker that is down is probed for recovery. */
  BROKER_RECONNECT_MS: Type.Integer({ minimum: 10, maximum: 60000, default: 500 }),
  /** SIGTERM: time between readiness turning false and the listener closing (lets a load balancer notice). */
  SHUTDOWN_DELAY_MS: Type.Integer({ minimum: 0, maximum: 30000, default: 0 }),
  /** SIGTERM: longest wait for in-flight publishes before connections are closed anyway. */
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 8000 }),
  LOG_LEVEL: Type.Union([Type.Literal("debug"), Type.Literal("info"), Type.Literal("warn"), Type.Literal("error")], {
    default: "info",
  }),
});
export type ApiConfig = Static<typeof ApiConfig>;

export function loadApiConfig(env: Record<string, string | undefined> = process.env): Readonly<ApiConfig> {
  return loadConfig(ApiConfig, env);
}
