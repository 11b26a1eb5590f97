import { Backoff, type BackoffOptions, sleep } from "@weather/async";
import { isRetriable } from "@weather/brokers";
import type { Logger } from "@weather/log";
import type { ConsumerMetrics } from "../metrics.ts";
import type { Delivery, Source } from "../sources/source.ts";

/**
 * Keeps a source connected: opens it, and whenever the connection is lost (broker restart,
 * network cut) closes what is left and opens it again, with capped, jittered backoff, until
 * stopped. Deliveries already handed to the core stay there and are counted; the adapter
 * settles only those of the live connection. A failure the broker calls permanent (access
 * refused, a queue declared with other arguments) is fatal: the process stops and says why.
 */
export class SourceConnection<D extends Delivery> {
  #stopping = false;
  #running: Promise<void> | undefined;
  #lost: (() => void) | undefined;

  readonly #source: Source<D>;
  readonly #sink: (delivery: D) => void;
  readonly #backoff: BackoffOptions;
  readonly #metrics: ConsumerMetrics;
  readonly #logger: Logger;
  constructor(
    source: Source<D>,
    sink: (delivery: D) => void,
    backoff: BackoffOptions,
    metrics: ConsumerMetrics,
    logger: Logger,
  ) {
    this.#source = source;
    this.#sink = sink;
    this.#backoff = backoff;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /** Resolves once connected the first time; `onFatal` is called on a permanent failure. */
  start(onFatal: (error: Error) => void): Promise<void> {
    return new Promise<void>((connected) => {
      this.#running = this.#run(connected, onFatal);
    });
  }

  async #run(connected: () => void, onFatal: (error: Error) => void): Promise<void> {
    const backoff = new Backoff(this.#backoff);
    let first = true;
    while (!this.#stopping) {
      const lost = new Promise<Error>((resolve) => {
        this.#lost = () => resolve(new Error("stopping"));
        this.#source
          .open(this.#sink, resolve)
          .then(() => {
            backoff.reset();
            if (!first) this.#logger.info("reconnected to the broker");
            first = false;
            connected();
          })
          .catch((error: unknown) => resolve(error instanceof Error ? error : new Error(String(error))));
      });
      const error = await lost;
      if (this.#stopping) return;
      await this.#source.close();
      if (!isRetriable(error)) {
        this.#logger.error("broker failure that retrying cannot fix", { error });
        this.#stopping = true;
        onFatal(error);
        connected();
        return;
      }
      const delayMs = backoff.next();
      this.#metrics.reconnects.inc();
      this.#logger.warn("broker connection lost; reconnecting", { error, delayMs, attempt: backoff.attempt });
      await sleep(delayMs);
    }
  }

  /** Stops reconnecting and stops deliveries; the connection stays open for settling until close(). */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#lost?.();
    await this.#source.stop();
  }

  /** Closes the connection. Safe to call twice. */
  async close(): Promise<void> {
    this.#stopping = true;
    this.#lost?.();
    await this.#running;
    await this.#source.close();
  }
}
