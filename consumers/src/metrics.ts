import { type HistogramSeries, HotHistogram, LATENCY_BUCKETS_SECONDS } from "@weather/metrics";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { Pipeline } from "./config.ts";

/** The consumer's Prometheus series; every one carries `pipeline` so both consumers share dashboards. */
export class ConsumerMetrics {
  readonly registry = new Registry();
  readonly consumed: Counter;
  readonly counted: Counter;
  readonly duplicates: Counter;
  readonly replays: Counter;
  readonly deadLettered: Counter<"reason">;
  /** Per batch: HotHistogram series, like the per-message one. */
  readonly batchSize: HistogramSeries;
  readonly storeBatchDuration: HistogramSeries;
  /** Observed once per message counted: a HotHistogram series (no label hashing per message). */
  readonly endToEndLatency: HistogramSeries;
  readonly up: Gauge;
  /** 1 while /readyz answers 200: connected to broker and store, and the last store write went through. */
  readonly ready: Gauge;
  readonly reconnects: Counter;
  readonly retries: Counter<"step" | "reason">;
  /** consumer_kafka_lag or consumer_rabbitmq_queue_depth, depending on the source. */
  readonly backlog: Gauge;

  constructor(pipeline: Pipeline) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ pipeline });
    collectDefaultMetrics({ register: this.registry });
    this.consumed = new Counter({
      name: "consumer_messages_consumed_total",
      help: "Messages received from the broker, including redeliveries and bad ones.",
      registers,
    });
    this.counted = new Counter({
      name: "consumer_messages_counted_total",
      help: "Messages counted in the store for the first time.",
      registers,
    });
    this.duplicates = new Counter({
      name: "consumer_duplicates_total",
      help: "Messages skipped because their id was counted within the dedup window (client retries, re-publishes).",
      registers,
    });
    this.replays = new Counter({
      name: "consumer_replays_total",
      help: "Broker replays of messages counted before, skipped (redeliveries after a crash, offsets replayed after a rebalance).",
      registers,
    });
    this.deadLettered = new Counter({
      name: "consumer_dead_lettered_total",
      help: "Messages sent to the dead-letter queue/topic, by reason.",
      labelNames: ["reason"],
      registers,
    });
    this.batchSize = new HotHistogram({
      name: "consumer_batch_size",
      help: "Messages per store round trip.",
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
      registers,
    }).labels({});
    this.storeBatchDuration = new HotHistogram({
      name: "consumer_store_batch_duration_seconds",
      help: "Duration of one batch's store round trip (the counting script).",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }).labels({});
    this.endToEndLatency = new HotHistogram({
      name: "consumer_end_to_end_latency_seconds",
      help: "From acceptance by the API (acceptedAt) to being counted in the store.",
      buckets: LATENCY_BUCKETS_SECONDS,
      registers,
    }).labels({});
    this.up = new Gauge({ name: "consumer_up", help: "1 while the consumer process runs.", registers });
    this.up.set(1);
    this.ready = new Gauge({
      name: "consumer_ready",
      help: "1 while the consumer is connected to its broker and store and its last store write succeeded.",
      registers,
    });
    this.reconnects = new Counter({
      name: "consumer_broker_reconnects_total",
      help: "Times the broker connection was lost (or could not be opened) and opened again.",
      registers,
    });
    this.retries = new Counter({
      name: "consumer_retries_total",
      help: "Retries of a failed step (store, dead-letter) by reason (store_full: maxmemory reached), each after a backoff pause.",
      labelNames: ["step", "reason"],
      registers,
    });
    this.backlog =
      pipeline === "kafka-redis"
        ? new Gauge({
            name: "consumer_kafka_lag",
            help: "Messages not yet committed, summed over the partitions assigned to this replica.",
            registers,
          })
        : new Gauge({
            name: "consumer_rabbitmq_queue_depth",
            help: "Messages ready in the queue, not yet delivered to a consumer.",
            registers,
          });
  }
}
