import { settleWithin, withTimeout } from "@weather/async";
import {
  amqpError,
  BrokerError,
  deadLetterName,
  declareRabbitQueues,
  RabbitMqNodes,
  type RabbitQueueSettings,
} from "@weather/brokers";
import { STORE_KEYS } from "@weather/store";
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage } from "amqplib";
import type { DeadLetter, Delivery, Source } from "./source.ts";

export interface RabbitDelivery extends Delivery {
  readonly message: ConsumeMessage;
  /** Delivery tags belong to one channel: only that channel may settle the delivery. */
  readonly channel: Channel;
}

export interface RabbitSourceOptions extends RabbitQueueSettings {
  /** One AMQP URL, or the nodes of one cluster separated by commas (tried in turn on each reconnection). */
  url: string;
  prefetch: number;
  /** Shown in the management UI's connection list. */
  connectionName: string;
  /** Bound on each close step, so that a dead connection cannot hang shutdown or a reconnect. */
  closeTimeoutMs: number;
}

/** One open connection: deliveries and acknowledgements on one channel, dead-letter publishing on another. */
interface Session {
  connection: ChannelModel;
  consume: Channel;
  /** Kept apart so that a failed publish cannot close the consuming channel. */
  publish: ConfirmChannel;
  consumerTag: string | undefined;
  lost: boolean;
}

/**
 * RabbitMQ adapter: competing consumers on one durable queue (quorum by default), manual
 * acknowledgements. A batch is acknowledged with one `ack(last, multiple=true)`: batches are
 * settled in delivery order, so "everything up to the last tag" is exactly the batch. Bad
 * messages are published (with a confirm) to `<queue>.dlq` with their reason in headers.
 */
/** How often acknowledgements sent are confirmed with one request (see ack). */
const CONFIRM_EVERY_MS = 50;

export class RabbitSource implements Source<RabbitDelivery> {
  readonly replayGuardKey = STORE_KEYS.unacknowledged;
  #session: Session | undefined;
  #unconfirmed: { channel: Channel; resolve: () => void; reject: (error: Error) => void }[] = [];
  #confirmTimer: ReturnType<typeof setTimeout> | undefined;

  readonly #options: RabbitSourceOptions;
  readonly #nodes: RabbitMqNodes;
  constructor(options: RabbitSourceOptions) {
    this.#options = options;
    this.#nodes = new RabbitMqNodes(options.url);
  }

  get ready(): boolean {
    const session = this.#session;
    return session !== undefined && !session.lost && session.consumerTag !== undefined;
  }

  async open(sink: (delivery: RabbitDelivery) => void, onLost: (error: Error) => void): Promise<void> {
    const { prefetch, connectionName, queue } = this.#options;
    let connection: ChannelModel | undefined;
    try {
      ({ connection } = await this.#nodes.connect({ connectionName }));
      const consume = await connection.createChannel();
      const publish = await connection.createConfirmChannel();
      const session: Session = { connection, consume, publish, consumerTag: undefined, lost: false };
      const lost = (why: string) => {
        if (session.lost || this.#session !== session) return;
        session.lost = true;
        onLost(new BrokerError("rabbitmq", why, true));
      };
      connection.on("error", () => {}); // always followed by "close"
      connection.on("close", (error?: Error) => lost(`connection closed${error ? `: ${error.message}` : ""}`));
      for (const [name, channel] of [
        ["consuming", consume],
        ["publishing", publish],
      ] as const) {
        channel.on("error", () => {});
        channel.on("close", () => lost(`${name} channel closed`));
      }
      await declareRabbitQueues(consume, this.#options);
      await consume.prefetch(prefetch);
      this.#session = session;
      const reply = await consume.consume(
        queue,
        (message) => {
          // null: the broker cancelled the consumer (queue deleted): reconnecting declares it again.
          if (message === null) return lost(`consumer of ${queue} cancelled by the broker`);
          sink({
            payload: message.content,
            position: message.fields.redelivered ? "1" : "0",
            message,
            channel: consume,
          });
        },
        { noAck: false },
      );
      session.consumerTag = reply.consumerTag;
    } catch (error) {
      this.#session = undefined;
      if (connection) await settleWithin(connection.close(), this.#options.closeTimeoutMs);
      throw amqpError("connecting and subscribing", error);
    }
  }

  // The broker pushes at most `prefetch` unacknowledged deliveries: that is the backpressure.
  pause(): void {}
  resume(): void {}

  async deadLetter(items: readonly DeadLetter<RabbitDelivery>[]): Promise<void> {
    const target = deadLetterName(this.#options.queue);
    const channel = this.#live().publish;
    try {
      for (const { delivery, reason, detail } of items) {
        channel.sendToQueue(target, delivery.message.content, {
          persistent: true,
          contentType: delivery.message.properties.contentType,
          messageId: delivery.message.properties.messageId,
          headers: { reason, detail, source: this.#options.queue, consumer: "rabbitmq-consumer" },
        });
      }
      await channel.waitForConfirms();
    } catch (error) {
      throw amqpError(`dead-lettering to ${target}`, error);
    }
  }

  /**
   * Acknowledges at once; resolves once the broker has provably processed the ack. basic.ack has
   * no reply, but a request on the same channel is answered only after everything sent before it:
   * one such request every CONFIRM_EVERY_MS confirms all the acks sent meanwhile (not one per batch).
   */
  ack(batch: readonly RabbitDelivery[]): Promise<readonly RabbitDelivery[]> {
    const channel = this.#settle(batch, (channel, last) => channel.ack(last, true), "ack");
    if (!channel) return Promise.resolve([]);
    const acknowledged = batch.filter((delivery) => delivery.channel === channel);
    return new Promise((resolve, reject) => {
      this.#unconfirmed.push({ channel, resolve: () => resolve(acknowledged), reject });
      this.#confirmTimer ??= setTimeout(() => void this.#confirmAcks(), CONFIRM_EVERY_MS);
    });
  }

  async #confirmAcks(): Promise<void> {
    this.#confirmTimer = undefined;
    const waiting = this.#unconfirmed.splice(0);
    const channel = this.#session?.consume;
    let failure: Error | undefined;
    try {
      if (!channel) throw new Error("the channel closed before the acknowledgements were confirmed");
      await withTimeout(channel.checkQueue(this.#options.queue), this.#options.closeTimeoutMs, "ack confirmation");
    } catch (error) {
      failure = amqpError("confirming acknowledgements", error);
    }
    for (const ack of waiting) {
      // An ack sent on a channel that has since closed may not have been processed: not confirmed.
      if (failure === undefined && ack.channel === channel) ack.resolve();
      else ack.reject(failure ?? new BrokerError("rabbitmq", "acknowledged on a channel that closed", true));
    }
  }

  async release(batch: readonly RabbitDelivery[]): Promise<void> {
    this.#settle(batch, (channel, last) => channel.nack(last, true, true), "requeue");
  }

  /** Settles, with `multiple`, up to the batch's last delivery that came on the live channel; returns that channel. */
  #settle(
    batch: readonly RabbitDelivery[],
    settle: (channel: Channel, last: ConsumeMessage) => void,
    what: string,
  ): Channel | undefined {
    const channel = this.#session?.consume;
    let last: ConsumeMessage | undefined;
    for (let i = batch.length - 1; i >= 0 && last === undefined; i--) {
      const delivery = batch[i] as RabbitDelivery;
      if (delivery.channel === channel) last = delivery.message;
    }
    if (channel === undefined || last === undefined) return undefined; // all from a closed channel: requeued by the broker
    try {
      settle(channel, last);
      return channel;
    } catch (error) {
      throw amqpError(what, error);
    }
  }

  async stop(): Promise<void> {
    const session = this.#session;
    const tag = session?.consumerTag;
    if (!session || tag === undefined) return;
    session.consumerTag = undefined;
    await settleWithin(session.consume.cancel(tag), this.#options.closeTimeoutMs);
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (!session) return;
    session.lost = true;
    // Unacknowledged deliveries go back to the queue when the channel closes.
    for (const step of [
      () => session.publish.close(),
      () => session.consume.close(),
      () => session.connection.close(),
    ]) {
      await settleWithin(Promise.resolve().then(step), this.#options.closeTimeoutMs);
    }
  }

  async backlog(): Promise<number | undefined> {
    const session = this.#session;
    if (!session || session.lost) return undefined;
    return (await session.publish.checkQueue(this.#options.queue)).messageCount;
  }

  #live(): Session {
    const session = this.#session;
    if (!session || session.lost) throw new BrokerError("rabbitmq", "not connected (reconnecting)", true);
    return session;
  }
}
