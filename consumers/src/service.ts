import type { Logger } from "@weather/log";
import { Elysia } from "elysia";
import type { ResolvedConsumerConfig } from "./config.ts";
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
      prefetch: config.RABBITMQ_PREFETCH,
      connectionName: `rabbitmq-consumer:${process.pid}`,
    });
  }
  return new KafkaSource({
    brokers: config.KAFKA_BROKERS.split(","),
    topic: config.KAFKA_TOPIC,
    partitions: config.KAFKA_TOPIC_PARTITIONS,
    groupId: config.KAFKA_GROUP_ID,
    clientId: config.KAFKA_CLIENT_ID,
    sessionTimeoutMs: config.KAFKA_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: config.KAFKA_HEARTBEAT_INTERVAL_MS,
    fetchMaxWaitMs: config.KAFKA_FETCH_MAX_WAIT_MS,
    fetchMaxBytes: config.KAFKA_FETCH_MAX_BYTES,
    bufferedMessages: config.BATCH_MAX_SIZE,
  });
}

/**
 * One consumer process: source adapter + counting core + store + HTTP endpoints.
 * The same assembly serves rabbitmq-consumer and kafka-consumer.
 */
export class ConsumerService {
  readonly metrics: ConsumerMetrics;
  readonly store: CountStore;
  readonly source: Source<Delivery>;
  readonly pipeline: CountingPipeline<Delivery>;
  readonly http: ReturnType<typeof createHttp>;
  #backlogTimer: ReturnType<typeof setInterval> | undefined;
  #started = false;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly config: ResolvedConsumerConfig,
    private readonly log: Logger,
  ) {
    this.metrics = new ConsumerMetrics(config.pipeline);
    this.store = new CountStore(config.STORE_URL, {
      dedupTtlSeconds: config.DEDUP_TTL_SECONDS,
      connectionName: `${config.pipeline}-${process.pid}`,
    });
    this.source = createSource(config);
    this.pipeline = new CountingPipeline(
      this.source,
      this.store,
      this.metrics,
      {
        batchMaxSize: config.BATCH_MAX_SIZE,
        batchMaxWaitMs: config.BATCH_MAX_WAIT_MS,
        retryBackoffMs: config.STORE_RETRY_BACKOFF_MS,
      },
      log,
    );
    this.http = createHttp({ ready: () => this.ready, registry: this.metrics.registry });
  }

  get ready(): boolean {
    return this.#started && this.#closing === undefined && this.store.ready && this.source.ready;
  }

  /** Serves HTTP at once (liveness during start-up), then connects and starts consuming. */
  async start(onFatal: (error: Error) => void): Promise<void> {
    this.http.listen({ port: this.config.HTTP_PORT, hostname: this.config.HTTP_HOST });
    await this.store.connect();
    const policy = await this.store.maxmemoryPolicy();
    if (policy !== undefined && policy !== "noeviction") {
      this.log.warn("store maxmemory-policy is not noeviction: dedup keys or counters may be evicted", { policy });
    }
    await this.source.connect();
    await this.pipeline.start(onFatal);
    this.#started = true;
    this.#backlogTimer = setInterval(() => void this.#refreshBacklog(), this.config.BACKLOG_POLL_MS);
    void this.#refreshBacklog();
    this.log.info("consuming", {
      port: this.config.HTTP_PORT,
      batchMaxSize: this.config.BATCH_MAX_SIZE,
      batchMaxWaitMs: this.config.BATCH_MAX_WAIT_MS,
    });
  }

  async #refreshBacklog(): Promise<void> {
    try {
      const backlog = await this.source.backlog();
      if (backlog !== undefined) this.metrics.backlog.set(backlog);
    } catch (error) {
      this.log.debug("backlog unavailable", { error });
    }
  }

  /**
   * Stops fetching, finishes and settles the batch in hand, then closes everything.
   * Safe to call twice; every step runs even if an earlier one fails.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#backlogTimer);
      const steps: [string, () => Promise<unknown> | unknown][] = [
        ["drain", () => this.pipeline.drain(this.config.SHUTDOWN_TIMEOUT_MS)],
        ["source", () => this.source.close()],
        ["store", () => this.store.close()],
        ["http", () => this.http.stop(true)],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          this.log.warn(`closing ${name} failed`, { error });
        }
      }
      this.log.info("closed");
    })();
    return this.#closing;
  }
}
