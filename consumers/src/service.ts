import type { BackoffOptions } from "@weather/async";
import type { Logger } from "@weather/log";
import type { Readiness } from "@weather/schema";
import { Elysia } from "elysia";
import type { ResolvedConsumerConfig } from "./config.ts";
import { SourceConnection } from "./core/connection.ts";
import { CountingPipeline } from "./core/pipeline.ts";
import { type HealthDeps, healthController } from "./http/health.ts";
import { ConsumerMetrics } from "./metrics.ts";
import { KafkaSource } from "./sources/kafka.ts";
import { RabbitSource } from "./sources/rabbitmq.ts";
import type { Delivery, Source } from "./sources/source.ts";
import { CountStore } from "./store/count-store.ts";

function createHttp(deps: HealthDeps) {
  return new Elysia().use(healthController(deps));
}

function createSource(config: ResolvedConsumerConfig): Source<Delivery> {
  if (config.CONSUMER_SOURCE === "rabbitmq") {
    return new RabbitSource({
      url: config.RABBITMQ_URL,
      queue: config.RABBITMQ_QUEUE,
      type: config.RABBITMQ_QUEUE_TYPE,
      deliveryLimit: config.RABBITMQ_DELIVERY_LIMIT,
      quorumGroupSize: config.RABBITMQ_QUORUM_GROUP_SIZE,
      prefetch: config.RABBITMQ_PREFETCH,
      connectionName: `rabbitmq-consumer:${process.pid}`,
      closeTimeoutMs: config.OPERATION_TIMEOUT_MS,
    });
  }
  return new KafkaSource({
    brokers: config.KAFKA_BROKERS.split(","),
    topic: config.KAFKA_TOPIC,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    replicationFactor: config.KAFKA_REPLICATION_FACTOR,
    groupId: config.KAFKA_GROUP_ID,
    clientId: config.KAFKA_CLIENT_ID,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    fetchMaxWaitMs: config.KAFKA_FETCH_MAX_WAIT_MS,
    fetchMaxBytes: config.KAFKA_FETCH_MAX_BYTES,
    fetchMinBytes: config.KAFKA_FETCH_MIN_BYTES,
    bufferedMessages: config.BATCH_MAX_SIZE,
    commitTimeoutMs: config.OPERATION_TIMEOUT_MS,
  });
}

/**
 * One consumer process: source adapter + counting core + store + HTTP endpoints. The same
 * assembly serves rabbitmq-consumer and kafka-consumer. It heals by itself: the source
 * reconnects, the store client reconnects and failed writes are retried, and /readyz says 503
 * meanwhile. Only a failure that retrying cannot fix stops the process.
 */
export class ConsumerService {
  readonly metrics: ConsumerMetrics;
  readonly store: CountStore;
  readonly source: Source<Delivery>;
  readonly pipeline: CountingPipeline<Delivery>;
  readonly connection: SourceConnection<Delivery>;
  readonly http: ReturnType<typeof createHttp>;
  #backlogTimer: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  readonly #config: ResolvedConsumerConfig;
  readonly #logger: Logger;
  constructor(config: ResolvedConsumerConfig, logger: Logger) {
    this.#config = config;
    this.#logger = logger;
    const backoff: BackoffOptions = { initialMs: config.RETRY_BACKOFF_MS, maxMs: config.RETRY_MAX_BACKOFF_MS };
    this.metrics = new ConsumerMetrics(config.pipeline);
    this.store = new CountStore(config.STORE_URL, {
      mode: config.CONSUMER_SOURCE,
      dedupWindowSeconds: config.DEDUP_WINDOW_SECONDS,
      unacknowledgedMaxAgeSeconds: config.DEDUP_UNACKED_MAX_AGE_SECONDS,
      commandTimeoutMs: config.OPERATION_TIMEOUT_MS,
      reconnect: backoff,
      connectionName: `${config.pipeline}-${process.pid}`,
    });
    this.source = createSource(config);
    const pipelineOptions = {
      batchMaxSize: config.BATCH_MAX_SIZE,
      batchMaxWaitMs: config.BATCH_MAX_WAIT_MS,
      retry: backoff,
    };
    this.pipeline = new CountingPipeline(this.source, this.store, this.metrics, pipelineOptions, logger);
    this.connection = new SourceConnection(this.source, this.pipeline.accept, backoff, this.metrics, logger);
    this.http = createHttp({ readiness: () => this.readiness(), registry: this.metrics.registry });
  }

  /**
   * Ready: started, not shutting down, broker and store connected, and the last store write (or
   * dead-letter publish) went through; a step being retried shows as that dependency "failing".
   */
  readiness(): Readiness {
    const shuttingDown = this.#closing !== undefined;
    const stalled = this.pipeline.stalled;
    const state = (connected: boolean) => (!connected ? "down" : stalled ? "failing" : "up");
    const dependencies = {
      [this.#config.CONSUMER_SOURCE]: this.source.ready ? "up" : "down",
      [this.#config.pipeline === "rabbitmq-valkey" ? "valkey" : "redis"]: state(this.store.ready),
    } as const;
    const ready = this.#started && !shuttingDown && this.source.ready && this.store.ready && !stalled;
    this.metrics.ready.set(ready ? 1 : 0);
    return { ready, shuttingDown, dependencies };
  }

  get ready(): boolean {
    return this.readiness().ready;
  }

  /**
   * Serves HTTP at once (liveness during start-up), then connects and starts consuming. A broker
   * or store that is down only delays readiness; `onFatal` reports what retrying cannot fix.
   */
  async start(onFatal: (error: Error) => void): Promise<void> {
    this.http.listen({ port: this.#config.HTTP_PORT, hostname: this.#config.HTTP_HOST });
    this.store.connect();
    const policy = await this.store.maxmemoryPolicy();
    if (policy !== undefined && policy !== "noeviction") {
      this.#logger.warn("store maxmemory-policy is not noeviction: dedup keys or counters may be evicted", { policy });
    }
    this.pipeline.start(onFatal);
    this.#backlogTimer = setInterval(() => {
      void this.#refreshBacklog();
      this.readiness(); // keeps the consumer_ready gauge current between /readyz probes
    }, this.#config.BACKLOG_POLL_MS);
    await this.connection.start(onFatal);
    this.#started = true;
    void this.#refreshBacklog();
    this.#logger.info("consuming", {
      port: this.#config.HTTP_PORT,
      batchMaxSize: this.#config.BATCH_MAX_SIZE,
      batchMaxWaitMs: this.#config.BATCH_MAX_WAIT_MS,
    });
  }

  async #refreshBacklog(): Promise<void> {
    try {
      const backlog = await this.source.backlog();
      if (backlog !== undefined) this.metrics.backlog.set(backlog);
    } catch (error) {
      this.#logger.debug("backlog unavailable", { error });
    }
  }

  /**
   * Stops fetching, finishes and settles the batch in hand, then closes everything.
   * Safe to call twice; every step runs even if an earlier one fails.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#backlogTimer);
      this.metrics.ready.set(0);
      const steps: [string, () => Promise<unknown> | unknown][] = [
        ["stop fetching", () => this.connection.stop()],
        ["drain", () => this.pipeline.drain(this.#config.SHUTDOWN_TIMEOUT_MS)],
        ["source", () => this.connection.close()],
        ["store", () => this.store.close()],
        ["http", () => this.http.stop(true)],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          this.#logger.warn(`closing: ${name} failed`, { error });
        }
      }
      this.#logger.info("closed");
    })();
    return this.#closing;
  }
}
