import { Backoff, type BackoffOptions, settleWithin } from "@weather/async";
import { BrokerError, describeError, kafkaError } from "@weather/brokers";
import type { Logger } from "@weather/log";
import type { BrokerPublisher, OutboundMessage } from "../types.ts";
import type { KafkaProducer, KafkaRecord } from "./producer.ts";

export interface KafkaPublisherOptions {
  producer: KafkaProducer;
  /** Longest a message waits for others to share its produce request. */
  lingerMs: number;
  /** A produce request is sent as soon as this many messages wait. */
  batchMaxMessages: number;
  reconnect: BackoffOptions;
  /** Bound on closing the client once in-flight requests are done. */
  closeTimeoutMs: number;
  /** While up, how often the cluster is pinged so that readiness notices an outage between requests. */
  healthCheckIntervalMs: number;
  logger: Logger;
  onStateChange?: (up: boolean) => void;
}

/** Upper bound of one produce request, well under Kafka's default 1 MiB message.max.bytes. */
const REQUEST_MAX_MESSAGES = 2000;

/** Callers waiting on records of one publish() call. */
interface Waiter {
  remaining: number;
  settled: boolean;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * Batches records from concurrent HTTP requests into shared produce requests:
 * a request leaves after `lingerMs` or as soon as `batchMaxMessages` wait; while
 * the client's in-flight limit is reached, records keep accumulating for the next
 * request. After a failure it probes the cluster until it answers again.
 */
export class KafkaPublisher implements BrokerPublisher {
  readonly name = "kafka" as const;
  #up = false;
  #connected = false;
  #probing = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  #records: KafkaRecord[] = [];
  #waiters: Waiter[] = [];
  #lingerTimer: ReturnType<typeof setTimeout> | undefined;
  #probeTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #backoff: Backoff;

  readonly #options: KafkaPublisherOptions;
  constructor(options: KafkaPublisherOptions) {
    this.#options = options;
    this.#backoff = new Backoff(options.reconnect);
  }

  start(): void {
    void this.#probe();
  }

  isUp(): boolean {
    return this.#up;
  }

  publish(messages: readonly OutboundMessage[]): Promise<void> {
    if (!this.#up) return Promise.reject(new BrokerError("kafka", "not connected", true));
    if (this.#closing) return Promise.reject(new BrokerError("kafka", "closing", true));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: messages.length, settled: false, resolve, reject };
      for (const message of messages) {
        this.#records.push({ key: message.id, value: message.payload });
        this.#waiters.push(waiter);
      }
      if (this.#records.length >= this.#options.batchMaxMessages) this.#flush();
      else this.#lingerTimer ??= setTimeout(() => this.#flush(), this.#options.lingerMs);
    });
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#probeTimer);
    // Send what is still waiting, then let every request finish.
    while (this.#records.length > 0 || this.#inFlight.size > 0) {
      if (this.#up) this.#flush();
      else this.#failWaiting(new BrokerError("kafka", "closing while disconnected", true));
      if (this.#inFlight.size > 0) await Promise.race(this.#inFlight);
    }
    this.#up = false;
    if ((await settleWithin(this.#options.producer.close(), this.#options.closeTimeoutMs)) === "timeout") {
      this.#options.logger.warn("kafka: producer did not close cleanly");
    }
  }

  #flush(): void {
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    while (this.#records.length > 0 && this.#inFlight.size < this.#options.producer.maxInFlight) {
      const records = this.#records.splice(0, REQUEST_MAX_MESSAGES);
      const waiters = this.#waiters.splice(0, records.length);
      const request: Promise<void> = this.#options.producer.send(records).then(
        () => settle(waiters),
        (error: unknown) => this.#onSendFailed(waiters, error),
      );
      this.#inFlight.add(request);
      void request.finally(() => {
        this.#inFlight.delete(request);
        // Records that arrived while the limit was reached have waited long enough.
        if (this.#records.length > 0 && this.#up) this.#flush();
      });
    }
  }

  #onSendFailed(waiters: Waiter[], error: unknown): void {
    const failure = kafkaError("not acknowledged", error);
    for (const waiter of waiters) {
      if (waiter.settled) continue;
      waiter.settled = true;
      waiter.reject(failure);
    }
    if (!this.#up) return;
    this.#options.logger.warn("kafka: produce failed, probing the cluster", { error: describeError(error) });
    this.#setUp(false);
    this.#failWaiting(failure);
    this.#scheduleProbe();
  }

  #failWaiting(error: Error): void {
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    this.#records = [];
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) {
      if (waiter.settled) continue;
      waiter.settled = true;
      waiter.reject(error);
    }
  }

  /** Connects, or checks the cluster still answers; runs while up too, so readiness notices an idle outage. */
  async #probe(): Promise<void> {
    if (this.#closing || this.#probing) return;
    this.#probing = true;
    const { producer, logger } = this.#options;
    try {
      if (this.#connected) await producer.ping();
      else {
        await producer.connect();
        this.#connected = true;
      }
      if (!this.#up && !this.#closing) logger.info("kafka: connected", { client: producer.client });
      this.#backoff.reset();
      this.#setUp(!this.#closing);
    } catch (error) {
      if (this.#up) logger.warn("kafka: cluster not answering", { error: describeError(error) });
      else logger.debug("kafka: not reachable", { error: describeError(error) });
      this.#setUp(false);
    } finally {
      this.#probing = false;
      this.#scheduleProbe();
    }
  }

  #scheduleProbe(): void {
    if (this.#closing) return;
    clearTimeout(this.#probeTimer);
    const delay = this.#up ? this.#options.healthCheckIntervalMs : this.#backoff.next();
    this.#probeTimer = setTimeout(() => void this.#probe(), delay);
  }

  #setUp(up: boolean): void {
    if (this.#up === up) return;
    this.#up = up;
    this.#options.onStateChange?.(up);
  }
}

function settle(waiters: Waiter[]): void {
  for (const waiter of waiters) {
    if (waiter.settled) continue;
    if (--waiter.remaining === 0) {
      waiter.settled = true;
      waiter.resolve();
    }
  }
}
