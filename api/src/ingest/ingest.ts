import type { Logger } from "@weather/log";
import { type Envelope, encodeEnvelope } from "@weather/schema";
import type { BrokerName, BrokerPublisher, OutboundMessage } from "../brokers/types.ts";
import { BrokerUnavailableError } from "../errors.ts";
import type { ApiMetrics } from "../observability/metrics.ts";
import { DeadlineQueue } from "./deadline-queue.ts";
import type { PartialPublishRepair } from "./repair.ts";

export interface IngestOptions {
  rabbitmq: BrokerPublisher;
  kafka: BrokerPublisher;
  publishTimeoutMs: number;
  retryAfterSeconds: number;
  /** Where a message confirmed by one broker only goes, to be published again to the other. */
  repair: Pick<PartialPublishRepair, "add">;
  metrics: ApiMetrics;
  logger: Logger;
}

type Outcome = "pending" | "confirmed" | "failed";

/** One message or batch on its way to both brokers; settles once, on both outcomes or on its deadline. */
class DualPublish {
  rabbitmq: Outcome = "pending";
  kafka: Outcome = "pending";
  settled = false;
  readonly reasons: string[] = [];
  readonly startedAt = performance.now();
  constructor(
    readonly ids: readonly string[],
    readonly messages: readonly OutboundMessage[],
    readonly deadline: number,
    readonly resolve: () => void,
    readonly reject: (error: Error) => void,
  ) {}
}

/**
 * Publishes envelopes to RabbitMQ and Kafka at the same time and succeeds only
 * when both confirmed within the bound. Anything else is a retriable 503 that
 * carries the ids, so the client can retry without being counted twice.
 * Deadlines are checked by one shared sweep, not one timer per request.
 */
export class Ingest {
  readonly #deadlines: DeadlineQueue<DualPublish>;

  readonly #options: IngestOptions;
  constructor(options: IngestOptions) {
    this.#options = options;
    this.#deadlines = new DeadlineQueue(options.publishTimeoutMs, (publish) => this.#timeOut(publish));
  }

  publish(envelopes: readonly Envelope[]): Promise<void> {
    const { rabbitmq, kafka, retryAfterSeconds } = this.#options;
    const messages: OutboundMessage[] = new Array(envelopes.length);
    const ids: string[] = new Array(envelopes.length);
    for (let i = 0; i < envelopes.length; i++) {
      const envelope = envelopes[i] as Envelope;
      ids[i] = envelope.id;
      messages[i] = { id: envelope.id, payload: Buffer.from(encodeEnvelope(envelope)) };
    }
    // Refuse before publishing anywhere: a known-down broker would only produce partial publishes.
    if (!rabbitmq.isUp() || !kafka.isUp()) {
      const down = [rabbitmq, kafka].filter((b) => !b.isUp()).map((b) => b.name);
      return Promise.reject(new BrokerUnavailableError(`${down.join(" and ")} unavailable`, retryAfterSeconds, ids));
    }
    return new Promise<void>((resolve, reject) => {
      const publish = new DualPublish(
        ids,
        messages,
        performance.now() + this.#options.publishTimeoutMs,
        resolve,
        reject,
      );
      this.#deadlines.add(publish);
      rabbitmq.publish(messages).then(
        () => this.#onOutcome(publish, "rabbitmq", "confirmed"),
        (error: Error) => this.#onOutcome(publish, "rabbitmq", "failed", error),
      );
      kafka.publish(messages).then(
        () => this.#onOutcome(publish, "kafka", "confirmed"),
        (error: Error) => this.#onOutcome(publish, "kafka", "failed", error),
      );
    });
  }

  #onOutcome(publish: DualPublish, broker: BrokerName, outcome: Outcome, error?: Error): void {
    publish[broker] = outcome;
    if (outcome === "confirmed") {
      this.#options.metrics.publishSeconds[broker].observe((performance.now() - publish.startedAt) / 1000);
    } else if (error) publish.reasons.push(error.message);
    if (publish.settled) {
      // Answered 503 on its deadline; the late outcome decides whether a repair is needed.
      this.#repairIfPartial(publish);
      return;
    }
    if (publish.rabbitmq === "confirmed" && publish.kafka === "confirmed") {
      publish.settled = true;
      this.#options.metrics.messagesAccepted(publish.ids.length);
      publish.resolve();
    } else if (publish.rabbitmq !== "pending" && publish.kafka !== "pending") {
      this.#fail(publish);
    }
  }

  #timeOut(publish: DualPublish): void {
    if (publish.settled) return;
    for (const broker of ["rabbitmq", "kafka"] as const) {
      if (publish[broker] === "pending") {
        publish.reasons.push(`${broker}: no confirmation within ${this.#options.publishTimeoutMs} ms`);
      }
    }
    this.#fail(publish);
  }

  #fail(publish: DualPublish): void {
    publish.settled = true;
    const confirmedBy: BrokerName | undefined =
      publish.rabbitmq === "confirmed" ? "rabbitmq" : publish.kafka === "confirmed" ? "kafka" : undefined;
    if (confirmedBy !== undefined) {
      this.#options.metrics.partialConfirmedBy[confirmedBy].inc(publish.ids.length);
      this.#options.logger.warn("partial publish", { confirmedBy, ids: publish.ids, reasons: publish.reasons });
    }
    this.#repairIfPartial(publish);
    const confirmed = (["rabbitmq", "kafka"] as const).filter((broker) => publish[broker] === "confirmed");
    publish.reject(
      new BrokerUnavailableError(
        publish.reasons.join("; "),
        this.#options.retryAfterSeconds,
        [...publish.ids],
        confirmed,
      ),
    );
  }

  /** One broker confirmed and the other has failed (not merely not answered yet): publish again to that one. */
  #repairIfPartial(publish: DualPublish): void {
    const { rabbitmq, kafka } = publish;
    if (rabbitmq === "confirmed" && kafka === "failed") this.#options.repair.add("kafka", publish.messages);
    else if (kafka === "confirmed" && rabbitmq === "failed") this.#options.repair.add("rabbitmq", publish.messages);
  }
}
