import { type Static, Type } from "@sinclair/typebox";
import { BrokerFields, ListenHost, loadConfig, Port } from "@weather/config";

/**
 * Every setting of the API, read once from the environment at start-up.
 * Defaults match .env.example (the native services on loopback).
 */
export const ApiConfig = Type.Object({
  ...BrokerFields,
  API_PORT: Port(3000),
  API_HOST: ListenHost,
  /**
   * Processes serving API_PORT together (SO_REUSEPORT), each with its own broker connections; 1 is one
   * process and no primary. More only pays where the API, not the machine, is the limit (docs/api.md).
   */
  API_PROCESSES: Type.Integer({ minimum: 1, maximum: 64, default: 1 }),
  KAFKA_CLIENT: Type.Union([Type.Literal("platformatic"), Type.Literal("kafkajs")], { default: "platformatic" }),
  KAFKA_CLIENT_ID: Type.String({ minLength: 1, default: "weather-api" }),
  /** Longest a produce request waits for more messages from concurrent HTTP requests. */
  KAFKA_LINGER_MS: Type.Number({ minimum: 0, maximum: 1000, default: 2 }),
  /** A produce request is sent as soon as this many messages are waiting. */
  KAFKA_BATCH_MAX_MESSAGES: Type.Integer({ minimum: 1, maximum: 100000, default: 100 }),
  /** Bound on waiting for both brokers to confirm a message before answering 503. */
  PUBLISH_TIMEOUT_MS: Type.Integer({ minimum: 1, maximum: 120000, default: 5000 }),
  /**
   * A message one broker confirmed and the other refused is published again to that one for this
   * long (then given up, logged by id). Keep it well under the consumers' DEDUP_WINDOW_SECONDS.
   */
  REPAIR_DEADLINE_MS: Type.Integer({ minimum: 1000, maximum: 3600000, default: 300000 }),
  /** Messages of partial publishes kept for repair at most (about 0.5 KiB each). */
  REPAIR_MAX_MESSAGES: Type.Integer({ minimum: 1, maximum: 10000000, default: 100000 }),
  /** Seconds a client is told to wait (Retry-After) after a 503. */
  RETRY_AFTER_SECONDS: Type.Integer({ minimum: 0, maximum: 3600, default: 1 }),
  BODY_MAX_BYTES: Type.Integer({ minimum: 1, default: 16384 }),
  BATCH_BODY_MAX_BYTES: Type.Integer({ minimum: 1, default: 1048576 }),
  BATCH_MAX_MESSAGES: Type.Integer({ minimum: 1, maximum: 10000, default: 500 }),
  /** While Kafka is up, how often it is pinged so that readiness notices an outage between requests. */
  KAFKA_HEALTH_CHECK_INTERVAL_MS: Type.Integer({ minimum: 100, maximum: 60000, default: 2000 }),
  /** First pause before reconnecting to a broker that is down; doubles (with jitter) up to BROKER_RECONNECT_MAX_MS. */
  BROKER_RECONNECT_MS: Type.Integer({ minimum: 10, maximum: 60000, default: 200 }),
  BROKER_RECONNECT_MAX_MS: Type.Integer({ minimum: 10, maximum: 300000, default: 5000 }),
  /** SIGTERM: time between readiness turning false and the listener closing (lets a load balancer notice). */
  SHUTDOWN_DELAY_MS: Type.Integer({ minimum: 0, maximum: 30000, default: 0 }),
  /** SIGTERM: longest wait for in-flight publishes before connections are closed anyway. */
  SHUTDOWN_GRACE_MS: Type.Integer({ minimum: 0, maximum: 60000, default: 8000 }),
});
export type ApiConfig = Static<typeof ApiConfig>;

export function loadApiConfig(env: Record<string, string | undefined> = process.env): Readonly<ApiConfig> {
  return loadConfig(ApiConfig, env);
}
