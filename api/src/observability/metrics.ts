import { HotHistogram, LATENCY_BUCKETS_SECONDS } from "@weather/metrics";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";
import type { BrokerName } from "../brokers/types.ts";

interface RequestCount {
  labels: { route: string; method: string; status: string };
  count: number;
  reported: number;
}

/**
 * The API's Prometheus series (names shared with the dashboards). On the request
 * path the request counter and the in-flight gauge are plain numbers, handed to
 * prom-client when Prometheus scrapes (its `collect` hook): prom-client hashes the
 * label set on every update, which showed up in profiles at 10k+ requests/s.
 * Histograms are HotHistograms (@weather/metrics): a series is looked up once, observing is arithmetic.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  #requestsInFlight = 0;
  readonly #requestCounts = new Map<string, RequestCount>();
  readonly #requests = new Counter({
    name: "api_http_requests_total",
    help: "HTTP requests by route, method and status.",
    labelNames: ["route", "method", "status"] as const,
    registers: [this.registry],
    collect: () => {
      for (const entry of this.#requestCounts.values()) {
        if (entry.count === entry.reported) continue;
        this.#requests.inc(entry.labels, entry.count - entry.reported);
        entry.reported = entry.count;
      }
    },
  });
  readonly #duration = new HotHistogram({
    name: "api_http_request_duration_seconds",
    help: "Time from request received to response written, by route.",
    labelNames: ["route"] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly #inFlightGauge: Gauge = new Gauge({
    name: "api_http_requests_in_flight",
    help: "HTTP requests being handled.",
    registers: [this.registry],
    collect: (): void => {
      this.#inFlightGauge.set(this.#requestsInFlight);
    },
  });
  #acceptedMessages = 0;
  readonly #accepted: Counter = new Counter({
    name: "api_messages_accepted_total",
    help: "Messages confirmed by both brokers and answered 202.",
    registers: [this.registry],
    collect: (): void => {
      this.#accepted.reset();
      this.#accepted.inc(this.#acceptedMessages);
    },
  });
  readonly #publishDuration = new HotHistogram({
    name: "api_broker_publish_duration_seconds",
    help: "Time from publish to broker confirmation, per publish call.",
    labelNames: ["broker"] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [this.registry],
  });
  readonly #partial = new Counter({
    name: "api_partial_publishes_total",
    help: "Messages confirmed by one broker but not the other (answered 503; a retry with the same id is deduplicated).",
    labelNames: ["confirmed_by"] as const,
    registers: [this.registry],
  });
  /** Messages waiting to be published again to the broker that missed them (see PartialPublishRepair). */
  readonly repairQueue = new Gauge({
    name: "api_repair_queue_messages",
    help: "Messages confirmed by one broker only, waiting to be published again to the other.",
    registers: [this.registry],
  });
  readonly #repairedTotal = new Counter({
    name: "api_repaired_messages_total",
    help: "Messages of partial publishes published again to the broker that had missed them.",
    labelNames: ["broker"] as const,
    registers: [this.registry],
  });
  readonly #repairAbandonedTotal = new Counter({
    name: "api_repair_abandoned_messages_total",
    help: "Messages of partial publishes given up (deadline, queue full, shutdown): in one broker only.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  readonly #brokerUp = new Gauge({
    name: "api_broker_up",
    help: "1 while the API is connected to the broker.",
    labelNames: ["broker"] as const,
    // API_PROCESSES > 1: up only while every process is connected.
    aggregator: "min",
    registers: [this.registry],
  });

  readonly #durationChildren = new Map<string, { observe: (value: number) => void }>();
  readonly publishSeconds: Record<BrokerName, { observe: (value: number) => void }>;
  readonly partialConfirmedBy: Record<BrokerName, { inc: (value?: number) => void }>;
  readonly repaired: Record<BrokerName, { inc: (value?: number) => void }>;
  readonly repairAbandoned: Record<"deadline" | "full" | "shutdown", { inc: (value?: number) => void }>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.publishSeconds = {
      rabbitmq: this.#publishDuration.labels({ broker: "rabbitmq" }),
      kafka: this.#publishDuration.labels({ broker: "kafka" }),
    };
    this.partialConfirmedBy = { rabbitmq: this.#partial.labels("rabbitmq"), kafka: this.#partial.labels("kafka") };
    this.repaired = { rabbitmq: this.#repairedTotal.labels("rabbitmq"), kafka: this.#repairedTotal.labels("kafka") };
    this.repairAbandoned = {
      deadline: this.#repairAbandonedTotal.labels("deadline"),
      full: this.#repairAbandonedTotal.labels("full"),
      shutdown: this.#repairAbandonedTotal.labels("shutdown"),
    };
    for (const child of [...Object.values(this.repaired), ...Object.values(this.repairAbandoned)]) child.inc(0);
    // Present from the start, so a dashboard shows 0 rather than no data.
    this.#partial.labels("rabbitmq").inc(0);
    this.#partial.labels("kafka").inc(0);
    this.setBrokerUp("rabbitmq", false);
    this.setBrokerUp("kafka", false);
  }

  setBrokerUp(broker: BrokerName, up: boolean): void {
    this.#brokerUp.labels(broker).set(up ? 1 : 0);
  }

  /** Messages confirmed by both brokers (per request: a plain addition, handed over at scrape time). */
  messagesAccepted(count: number): void {
    this.#acceptedMessages += count;
  }

  requestStarted(): void {
    this.#requestsInFlight++;
  }

  requestFinished(route: string, method: string, status: number, seconds: number): void {
    this.#requestsInFlight--;
    const key = `${route} ${method} ${status}`;
    let entry = this.#requestCounts.get(key);
    if (entry === undefined) {
      entry = { labels: { route, method, status: String(status) }, count: 0, reported: 0 };
      this.#requestCounts.set(key, entry);
    }
    entry.count++;
    let histogram = this.#durationChildren.get(route);
    if (histogram === undefined) {
      histogram = this.#duration.labels({ route });
      this.#durationChildren.set(route, histogram);
    }
    histogram.observe(seconds);
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
