import { Admin, Consumer, type Message, type MessagesStream, ProduceAcks, Producer } from "@platformatic/kafka";
import { settleWithin, withTimeout } from "@weather/async";
import { deadLetterName, ensureKafkaTopics, type KafkaTopicSettings, kafkaError } from "@weather/brokers";
import { kafkaOffsetsKey } from "@weather/store";
import type { DeadLetter, Delivery, Source } from "./source.ts";

type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;

export interface KafkaDelivery extends Delivery {
  readonly message: KafkaMessage;
  /** The connection that fetched it: only that consumer can commit its offset. */
  readonly session: number;
}

export interface KafkaSourceOptions extends KafkaTopicSettings {
  brokers: string[];
  topic: string;
  groupId: string;
  clientId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  fetchMinBytes: number;
  /** Messages the client may hold before the core takes them. */
  bufferedMessages: number;
  /** Bound on an offset commit and on each close step. */
  commitTimeoutMs: number;
}

interface Session {
  id: number;
  admin: Admin;
  producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  lost: boolean;
  /** Ends this session (SourceConnection then opens a new one). */
  lose: (error: Error) => void;
}

/**
 * Kafka adapter on @platformatic/kafka: one consumer group, offsets committed by hand only after
 * the store has counted the batch (autocommit off). Heartbeats run on the client's own timer, so
 * a long batch does not cost the group membership. Committing the last message of each partition
 * commits the whole batch (offsets are per partition and monotonic).
 *
 * Every record fetched is handed to the core, whatever generation or connection fetched it:
 * after a rebalance the client may go on from where it fetched rather than from the committed
 * offset, so a record dropped here would never come again. Replays are the store's to skip.
 */
export class KafkaSource implements Source<KafkaDelivery> {
  /** The topic's counted offsets in the store, keyed by the topic's id (known once connected). */
  replayGuardKey: string | undefined;
  #session: Session | undefined;
  #sessions = 0;
  #paused = false;
  /**
   * Next offset per partition this process has handed to the core. A record below it was handed
   * out before (a re-fetch after a rebalance or reconnection) and will be counted from that copy:
   * dropping it saves a store round trip. Bounded by the topic's partition count.
   */
  readonly #delivered = new Map<number, bigint>();

  readonly #options: KafkaSourceOptions;
  constructor(options: KafkaSourceOptions) {
    this.#options = options;
  }

  get ready(): boolean {
    const session = this.#session;
    return session?.stream !== undefined && !session.lost;
  }

  async open(sink: (delivery: KafkaDelivery) => void, onLost: (error: Error) => void): Promise<void> {
    const { brokers, clientId, groupId, topic } = this.#options;
    const session: Session = {
      id: ++this.#sessions,
      admin: new Admin({ clientId: `${clientId}-admin`, bootstrapBrokers: brokers }),
      producer: new Producer({ clientId: `${clientId}-dlq`, bootstrapBrokers: brokers, acks: ProduceAcks.ALL }),
      consumer: new Consumer({
        clientId,
        groupId,
        bootstrapBrokers: brokers,
        sessionTimeout: this.#options.sessionTimeoutMs,
        heartbeatInterval: this.#options.heartbeatIntervalMs,
        maxWaitTime: this.#options.fetchMaxWaitMs,
        minBytes: this.#options.fetchMinBytes,
      }),
      stream: undefined,
      lost: false,
      lose: (error) => {
        if (session.lost || this.#session !== session) return;
        session.lost = true;
        onLost(error);
      },
    };
    this.#session = session;
    try {
      await ensureKafkaTopics(session.admin, [topic, deadLetterName(topic)], this.#options);
      const metadata = await session.admin.metadata({ topics: [topic] });
      const topicId = metadata.topics.get(topic)?.id;
      if (!topicId) throw new Error(`no metadata for topic ${topic}`);
      this.replayGuardKey = kafkaOffsetsKey(topic, topicId);
      const stream = await session.consumer.consume({
        topics: [topic],
        mode: "committed",
        fallbackMode: "earliest",
        autocommit: false,
        maxBytes: this.#options.fetchMaxBytes,
        highWaterMark: this.#options.bufferedMessages,
      });
      stream.on("data", (message: KafkaMessage) => {
        const next = this.#delivered.get(message.partition);
        if (next !== undefined && message.offset < next) return;
        this.#delivered.set(message.partition, message.offset + 1n);
        sink({
          payload: message.value,
          position: `${message.partition}:${message.offset}`,
          message,
          session: session.id,
        });
      });
      stream.on("error", (error: Error) => session.lose(kafkaError("consuming", error)));
      session.stream = stream;
      if (this.#paused) stream.pause();
    } catch (error) {
      await this.close();
      throw kafkaError("connecting and joining the group", error);
    }
  }

  pause(): void {
    this.#paused = true;
    this.#session?.stream?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#session?.stream?.resume();
  }

  async deadLetter(items: readonly DeadLetter<KafkaDelivery>[]): Promise<void> {
    const topic = deadLetterName(this.#options.topic);
    const session = this.#session;
    try {
      if (!session || session.lost) throw new Error("not connected (reconnecting)");
      await session.producer.send({
        messages: items.map(({ delivery, reason, detail }) => ({
          topic,
          key: delivery.message.key ?? undefined,
          value: delivery.message.value,
          // Buffer serialisers: header names must be Buffers too, hence a Map rather than an object.
          headers: new Map([
            [Buffer.from("reason"), Buffer.from(reason)],
            [Buffer.from("detail"), Buffer.from(detail)],
            [
              Buffer.from("source"),
              Buffer.from(`${delivery.message.topic}/${delivery.message.partition}/${delivery.message.offset}`),
            ],
            [Buffer.from("consumer"), Buffer.from("kafka-consumer")],
          ]),
        })),
      });
    } catch (error) {
      throw kafkaError(`dead-lettering to ${topic}`, error);
    }
  }

  async ack(batch: readonly KafkaDelivery[]): Promise<readonly KafkaDelivery[]> {
    const live = this.#session;
    const session = live?.id;
    // The last delivery of each partition carries the batch's highest offset there.
    const lastByPartition = new Map<number, KafkaDelivery>();
    for (const delivery of batch)
      if (delivery.session === session) lastByPartition.set(delivery.message.partition, delivery);
    if (lastByPartition.size === 0) return [];
    try {
      await withTimeout(
        Promise.all([...lastByPartition.values()].map((d) => d.message.commit())),
        this.#options.commitTimeoutMs,
        "offset commit",
      );
    } catch (error) {
      // The group's coordinator is out of reach while fetching may go on (a cluster lost the broker
      // that coordinated the group): with no later commit, the counted records would stay
      // uncommitted for good. A new session rejoins the group and fetches from the committed
      // offsets, so the batch is redelivered (and skipped by the store) and committed.
      const failure = kafkaError("committing offsets", error);
      live?.lose(failure);
      throw failure;
    }
    return batch.filter((delivery) => delivery.session === session);
  }

  /** Leaving the offsets uncommitted is the release: the partition's next owner starts before them. */
  async release(_batch: readonly KafkaDelivery[]): Promise<void> {}

  async stop(): Promise<void> {
    this.#session?.stream?.pause();
  }

  async close(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    if (!session) return;
    session.lost = true;
    const bound = this.#options.commitTimeoutMs;
    // Leave the group first, so that its partitions move to the other replicas at once.
    await settleWithin(session.stream?.close() ?? Promise.resolve(), bound);
    await settleWithin(session.consumer.close(true), bound);
    await settleWithin(session.producer.close(), bound);
    await settleWithin(session.admin.close(), bound);
  }

  async backlog(): Promise<number | undefined> {
    const session = this.#session;
    if (!session?.stream || session.lost) return undefined;
    const lag = await session.consumer.getLag({ topics: [this.#options.topic] });
    let total = 0n;
    for (const partitions of lag.values()) for (const value of partitions) if (value > 0n) total += value;
    return Number(total);
  }
}
