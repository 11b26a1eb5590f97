import { deadLetterName, rabbitmqQueueArguments } from "@weather/schema";
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { SourceLostError, SourceSettleError } from "../errors.ts";
import type { DeadLetter, Delivery, Source } from "./source.ts";

export interface RabbitDelivery extends Delivery {
  readonly message: ConsumeMessage;
}

export interface RabbitSourceOptions {
  url: string;
  queue: string;
  prefetch: number;
  /** Shown in the management UI's connection list. */
  connectionName: string;
}

/**
 * RabbitMQ adapter: competing consumers on one durable queue, manual acknowledgements.
 * A batch is acknowledged with one `ack(last, multiple=true)`: batches are settled in
 * delivery order on one channel, so "everything up to the last tag" is exactly the batch.
 * Bad messages are published (with a confirm) to `<queue>.dlq` with their reason in headers.
 */
export class RabbitSource implements Source<RabbitDelivery> {
  readonly kind = "rabbitmq";
  #connection: ChannelModel | undefined;
  /** Deliveries and acknowledgements. */
  #consume: Channel | undefined;
  /** Dead-letter publishing (with confirms) and queue depth checks, kept apart so a failure there cannot close the consuming channel. */
  #publish: ConfirmChannel | undefined;
  #consumerTag: string | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(private readonly options: RabbitSourceOptions) {}

  get ready(): boolean {
    return this.#consumerTag !== undefined && !this.#closing;
  }

  async connect(): Promise<void> {
    const { url, queue, prefetch, connectionName } = this.options;
    this.#connection = await amqp.connect(url, { clientProperties: { connection_name: connectionName } });
    this.#consume = await this.#connection.createChannel();
    this.#publish = await this.#connection.createConfirmChannel();
    await this.#consume.assertQueue(deadLetterName(queue), { durable: true });
    await this.#consume.assertQueue(queue, { durable: true, arguments: rabbitmqQueueArguments(queue) });
    await this.#consume.prefetch(prefetch);
  }

  async start(sink: (delivery: RabbitDelivery) => void, onLost: (error: Error) => void): Promise<void> {
    const connection = this.#required(this.#connection);
    const channel = this.#required(this.#consume);
    const lost = (why: string) => {
      if (!this.#closing) onLost(new SourceLostError(why));
    };
    connection.on("error", () => {}); // followed by "close", handled below
    connection.on("close", () => lost("RabbitMQ connection closed"));
    channel.on("error", () => {});
    channel.on("close", () => lost("RabbitMQ channel closed"));
    this.#publish?.on("error", () => {});
    this.#publish?.on("close", () => lost("RabbitMQ publishing channel closed"));
    const reply = await channel.consume(
      this.options.queue,
      (message) => {
        // null: the broker cancelled the consumer (queue deleted).
        if (message === null) return lost(`consumer of ${this.options.queue} cancelled by the broker`);
        sink({ payload: message.content, message });
      },
      { noAck: false },
    );
    this.#consumerTag = reply.consumerTag;
  }

  // The broker pushes at most `prefetch` unacknowledged deliveries: that is the backpressure.
  pause(): void {}
  resume(): void {}

  /** A delivery stays ours until acknowledged or the channel closes. */
  isStale(_delivery: RabbitDelivery): boolean {
    return false;
  }

  async deadLetter(items: readonly DeadLetter<RabbitDelivery>[]): Promise<void> {
    const channel = this.#required(this.#publish);
    const target = deadLetterName(this.options.queue);
    try {
      for (const { delivery, reason, detail } of items) {
        channel.sendToQueue(target, delivery.message.content, {
          persistent: true,
          contentType: delivery.message.properties.contentType,
          messageId: delivery.message.properties.messageId,
          headers: { reason, detail, source: this.options.queue, consumer: "rabbitmq-consumer" },
        });
      }
      await channel.waitForConfirms();
    } catch (error) {
      throw new SourceSettleError(`dead-lettering to ${target} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async ack(batch: readonly RabbitDelivery[]): Promise<void> {
    const last = batch.at(-1);
    if (!last) return;
    try {
      this.#required(this.#consume).ack(last.message, true);
    } catch (error) {
      throw new SourceSettleError(`ack failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async release(batch: readonly RabbitDelivery[]): Promise<void> {
    const last = batch.at(-1);
    if (!last) return;
    try {
      this.#required(this.#consume).nack(last.message, true, true);
    } catch (error) {
      throw new SourceSettleError(`requeue failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async stop(): Promise<void> {
    const tag = this.#consumerTag;
    if (tag === undefined || !this.#consume) return;
    this.#consumerTag = undefined;
    await this.#consume.cancel(tag);
  }

  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= (async () => {
      // Unacknowledged deliveries go back to the queue when the channel closes.
      for (const step of [
        () => this.#publish?.close(),
        () => this.#consume?.close(),
        () => this.#connection?.close(),
      ]) {
        try {
          await step();
        } catch {
          // Already closed: nothing left to release.
        }
      }
    })();
    return this.#closed;
  }

  async backlog(): Promise<number | undefined> {
    if (!this.#publish || this.#closing) return undefined;
    const reply = await this.#publish.checkQueue(this.options.queue);
    return reply.messageCount;
  }

  #required<T>(value: T | undefined): T {
    if (value === undefined) throw new SourceLostError("RabbitMQ source used before connect()");
    return value;
  }
}
