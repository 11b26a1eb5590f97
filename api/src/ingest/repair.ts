import { Backoff, type BackoffOptions, sleep, waitFor } from "@weather/async";
import type { Logger } from "@weather/log";
import type { BrokerName, BrokerPublisher, OutboundMessage } from "../brokers/types.ts";
import type { ApiMetrics } from "../observability/metrics.ts";

export interface RepairOptions {
  brokers: Record<BrokerName, BrokerPublisher>;
  /** A message not delivered to its missing broker within this long is given up (logged with its id). */
  deadlineMs: number;
  /** Messages kept at most; beyond that the oldest are given up. Bounds the memory: about 0.5 KiB each. */
  maxMessages: number;
  /** Messages re-published in one call. */
  batchSize: number;
  backoff: BackoffOptions;
  metrics: ApiMetrics;
  logger: Logger;
}

interface Pending {
  message: OutboundMessage;
  deadline: number;
}

/**
 * Partial publishes converge without the client: a message one broker confirmed and the other
 * refused is kept here (in memory, bounded in count and age) and published again to the broker
 * that is missing it, as soon as that broker is up. Both stores then end equal. A client retry
 * with the same id meanwhile is harmless: the stores count an id once.
 *
 * What this cannot cover: the API process dying while messages wait here. They are then in one
 * broker only until the client retries with the same id (docs/api.md).
 */
export class PartialPublishRepair {
  readonly #queues: Record<BrokerName, Pending[]> = { rabbitmq: [], kafka: [] };
  readonly #running: Partial<Record<BrokerName, Promise<void>>> = {};
  #closing = false;

  readonly #options: RepairOptions;
  constructor(options: RepairOptions) {
    this.#options = options;
  }

  /** Messages waiting to be published again, both brokers together. */
  get size(): number {
    return this.#queues.rabbitmq.length + this.#queues.kafka.length;
  }

  /** Keeps `messages` for `broker`, which did not confirm them although the other broker did. */
  add(broker: BrokerName, messages: readonly OutboundMessage[]): void {
    const queue = this.#queues[broker];
    const deadline = performance.now() + this.#options.deadlineMs;
    for (const message of messages) queue.push({ message, deadline });
    const over = this.size - this.#options.maxMessages;
    if (over > 0) this.#giveUp(broker, queue.splice(0, Math.min(over, queue.length)), "full");
    this.#options.metrics.repairQueue.set(this.size);
    this.#running[broker] ??= this.#drain(broker).finally(() => {
      delete this.#running[broker];
    });
  }

  async #drain(broker: BrokerName): Promise<void> {
    const queue = this.#queues[broker];
    const publisher = this.#options.brokers[broker];
    const backoff = new Backoff(this.#options.backoff);
    while (queue.length > 0) {
      const now = performance.now();
      const expired = queue.findIndex((pending) => pending.deadline > now);
      if (expired !== 0) this.#giveUp(broker, queue.splice(0, expired === -1 ? queue.length : expired), "deadline");
      if (queue.length === 0) break;
      if (!publisher.isUp()) {
        if (this.#closing) break;
        await sleep(backoff.next());
        continue;
      }
      const batch = queue.slice(0, this.#options.batchSize);
      try {
        await publisher.publish(batch.map((pending) => pending.message));
        queue.splice(0, batch.length);
        backoff.reset();
        this.#options.metrics.repaired[broker].inc(batch.length);
        this.#options.logger.info("partial publish repaired", { broker, messages: batch.length });
      } catch (error) {
        if (this.#closing) break;
        this.#options.logger.warn("repairing a partial publish failed; retrying", { broker, error });
        await sleep(backoff.next());
      }
      this.#options.metrics.repairQueue.set(this.size);
    }
    this.#options.metrics.repairQueue.set(this.size);
  }

  #giveUp(broker: BrokerName, given: Pending[], reason: "deadline" | "full" | "shutdown"): void {
    if (given.length === 0) return;
    this.#options.metrics.repairAbandoned[reason].inc(given.length);
    this.#options.logger.error("partial publish given up: in one broker only until the client retries", {
      broker,
      reason,
      ids: given.map((pending) => pending.message.id),
    });
  }

  /** Waits (up to `timeoutMs`) for what is queued to be published, then gives up the rest, by id in the log. */
  async close(timeoutMs: number): Promise<void> {
    await waitFor("partial publishes repaired", () => this.size === 0, { timeoutMs, intervalMs: 50 }).catch(() => {});
    this.#closing = true;
    for (const broker of ["rabbitmq", "kafka"] as const) {
      this.#giveUp(broker, this.#queues[broker].splice(0), "shutdown");
    }
    this.#options.metrics.repairQueue.set(0);
    await Promise.all(Object.values(this.#running));
  }
}

/** The repair for a running API, from its settings. */
export function createRepair(
  brokers: Record<BrokerName, BrokerPublisher>,
  config: {
    REPAIR_DEADLINE_MS: number;
    REPAIR_MAX_MESSAGES: number;
    BROKER_RECONNECT_MS: number;
    BROKER_RECONNECT_MAX_MS: number;
  },
  metrics: ApiMetrics,
  logger: Logger,
): PartialPublishRepair {
  return new PartialPublishRepair({
    brokers,
    deadlineMs: config.REPAIR_DEADLINE_MS,
    maxMessages: config.REPAIR_MAX_MESSAGES,
    batchSize: 500,
    backoff: { initialMs: config.BROKER_RECONNECT_MS, maxMs: config.BROKER_RECONNECT_MAX_MS },
    metrics,
    logger,
  });
}
