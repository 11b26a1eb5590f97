import { Backoff, type BackoffOptions, settleWithin } from "@weather/async";
import {
  amqpError,
  BrokerError,
  coalesceAmqpWrites,
  declareRabbitQueues,
  isRetriable,
  RabbitMqNodes,
  type RabbitQueueSettings,
} from "@weather/brokers";
import type { Logger } from "@weather/log";
import type { ChannelModel, ConfirmChannel } from "amqplib";
import type { BrokerPublisher, OutboundMessage } from "./types.ts";

export interface RabbitMqOptions extends RabbitQueueSettings {
  /** One AMQP URL, or the nodes of one cluster separated by commas (tried in turn). */
  url: string;
  reconnect: BackoffOptions;
  /** Bound on each step of close() (waiting for confirms, closing the connection). */
  closeTimeoutMs: number;
  logger: Logger;
  onStateChange?: (up: boolean) => void;
}

/**
 * Publishes persistent messages to a durable queue on a ConfirmChannel. Every
 * publish goes out at once with its own confirm callback, so many confirms are in
 * flight and none is awaited before the next send. On connection loss every
 * unconfirmed publish is rejected (amqplib calls back with an error) and the
 * connection is re-opened in the background.
 */
export class RabbitMqPublisher implements BrokerPublisher {
  readonly name = "rabbitmq" as const;
  #connection: ChannelModel | undefined;
  #channel: ConfirmChannel | undefined;
  #blocked = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #connecting = false;
  readonly #publishOptions = { persistent: true, contentType: "application/json", messageId: "" };
  readonly #backoff: Backoff;
  readonly #nodes: RabbitMqNodes;

  readonly #options: RabbitMqOptions;
  constructor(options: RabbitMqOptions) {
    this.#options = options;
    this.#backoff = new Backoff(options.reconnect);
    this.#nodes = new RabbitMqNodes(options.url);
  }

  start(): void {
    void this.#connect();
  }

  isUp(): boolean {
    return this.#channel !== undefined && !this.#blocked;
  }

  publish(messages: readonly OutboundMessage[]): Promise<void> {
    const channel = this.#channel;
    if (channel === undefined) return Promise.reject(new BrokerError("rabbitmq", "not connected", true));
    if (this.#blocked) return Promise.reject(new BrokerError("rabbitmq", "connection blocked by the broker", true));
    const { queue } = this.#options;
    return new Promise<void>((resolve, reject) => {
      let remaining = messages.length;
      let failed = false;
      const onConfirm = (error: unknown) => {
        if (failed) return;
        if (error) {
          failed = true;
          reject(amqpError("not confirmed", error));
          return;
        }
        if (--remaining === 0) resolve();
      };
      try {
        for (const message of messages) {
          this.#publishOptions.messageId = message.id;
          channel.publish("", queue, message.payload, this.#publishOptions, onConfirm);
        }
      } catch (error) {
        // The channel closed between the check above and the write.
        failed = true;
        reject(amqpError("publish failed", error));
      }
    });
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#reconnectTimer);
    const channel = this.#channel;
    const connection = this.#connection;
    this.#channel = undefined;
    this.#connection = undefined;
    const { logger, closeTimeoutMs } = this.#options;
    // A connection lost just before close never answers: each step is bounded.
    if (channel && (await settleWithin(channel.waitForConfirms(), closeTimeoutMs)) === "timeout") {
      logger.warn("rabbitmq: confirms still outstanding at close");
    }
    if (connection && (await settleWithin(connection.close(), closeTimeoutMs)) === "timeout") {
      logger.warn("rabbitmq: connection did not close cleanly");
    }
  }

  async #connect(): Promise<void> {
    if (this.#closing || this.#connecting) return;
    this.#connecting = true;
    const { queue, logger } = this.#options;
    let connection: ChannelModel | undefined;
    try {
      // Confirms are awaited by HTTP requests: send each frame at once rather than wait for Nagle's delay.
      const opened = await this.#nodes.connect({ noDelay: true, connectionName: "api" });
      connection = opened.connection;
      connection.on("error", (error: Error) => logger.warn("rabbitmq: connection error", { error: error.message }));
      connection.on("close", () => this.#onConnectionLost(connection));
      connection.on("blocked", (reason: string) => {
        this.#blocked = true;
        logger.warn("rabbitmq: connection blocked", { reason });
        this.#options.onStateChange?.(false);
      });
      connection.on("unblocked", () => {
        this.#blocked = false;
        logger.info("rabbitmq: connection unblocked");
        this.#options.onStateChange?.(this.isUp());
      });
      const channel = await connection.createConfirmChannel();
      if (!coalesceAmqpWrites(connection))
        logger.warn("rabbitmq: amqplib internals changed, publishes are written one by one");
      channel.on("error", (error: Error) => logger.warn("rabbitmq: channel error", { error: error.message }));
      // A channel closed by the broker (e.g. precondition failure) leaves the connection open: drop both.
      channel.on("close", () => {
        if (this.#channel === channel) void connection?.close().catch(() => {});
      });
      await declareRabbitQueues(channel, this.#options);
      if (this.#closing) {
        await connection.close();
        return;
      }
      this.#connection = connection;
      this.#channel = channel;
      this.#blocked = false;
      this.#backoff.reset();
      logger.info("rabbitmq: connected", { queue, type: this.#options.type, node: opened.node });
      this.#options.onStateChange?.(true);
    } catch (error) {
      // A permanent failure (refused credentials, a queue of another type) needs an operator: say so louder.
      logger[isRetriable(error) ? "warn" : "error"]("rabbitmq: connect failed", { error: amqpError("connect", error) });
      await connection?.close().catch(() => {});
      this.#scheduleReconnect();
    } finally {
      this.#connecting = false;
    }
  }

  #onConnectionLost(connection: ChannelModel | undefined): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    this.#channel = undefined;
    if (this.#closing) return;
    this.#options.logger.warn("rabbitmq: connection lost, reconnecting");
    this.#options.onStateChange?.(false);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closing) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => void this.#connect(), this.#backoff.next());
  }
}
