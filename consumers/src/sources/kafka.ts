import { Admin, Consumer, type Message, type MessagesStream, ProduceAcks, Producer } from "@platformatic/kafka";
import { deadLetterName } from "@weather/schema";
import { SourceLostError, SourceSettleError } from "../errors.ts";
import type { DeadLetter, Delivery, Source } from "./source.ts";

export interface KafkaDelivery extends Delivery {
  readonly message: Message<Buffer, Buffer, Buffer, Buffer>;
}

export interface KafkaSourceOptions {
  brokers: string[];
  topic: string;
  partitions: number;
  groupId: string;
  clientId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  fetchMaxWaitMs: number;
  fetchMaxBytes: number;
  /** Messages the client may hold before the core takes them. */
  bufferedMessages: number;
}

/** Bound on waiting for an offset commit; a commit lost in a rebalance must not stall the pipeline. */
const COMMIT_TIMEOUT_MS = 5000;

/**
 * Kafka adapter on @platformatic/kafka: one consumer group, offsets committed by hand only
 * after the store has counted the batch (autocommit off). Heartbeats run on the client's own
 * timer, so a long batch does not cost the group membership. Committing the last message of
 * each partition commits the whole batch (offsets are per partition and monotonic).
 */
export class KafkaSource implements Source<KafkaDelivery> {
  readonly kind = "kafka";
  #admin: Admin | undefined;
  #producer: Producer<Buffer, Buffer, Buffer, Buffer> | undefined;
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined;
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  #consuming = false;
  #closing = false;
  #closed: Promise<void> | undefined;
  /** Next offset expected per partition in the current generation (see #seenBefore). */
  readonly #nextOffsets = new Map<number, bigint>();
  #offsetsGeneration: number | undefined;

  constructor(private readonly options: KafkaSourceOptions) {}

  get ready(): boolean {
    return this.#consuming && !this.#closing;
  }

  async connect(): Promise<void> {
    const { brokers, clientId, groupId } = this.options;
    this.#admin = new Admin({ clientId: `${clientId}-admin`, bootstrapBrokers: brokers });
    await this.#ensureTopics();
    this.#producer = new Producer({
      clientId: `${clientId}-dlq`,
      bootstrapBrokers: brokers,
      acks: ProduceAcks.ALL,
    });
    this.#consumer = new Consumer({
      clientId,
      groupId,
      bootstrapBrokers: brokers,
      sessionTimeout: this.options.sessionTimeoutMs,
      heartbeatInterval: this.options.heartbeatIntervalMs,
      maxWaitTime: this.options.fetchMaxWaitMs,
    });
  }

  /** Creates the topic (KAFKA_TOPIC_PARTITIONS partitions) and its DLQ when missing; another replica or the API may race us. */
  async #ensureTopics(): Promise<void> {
    const admin = this.#required(this.#admin);
    const wanted = [this.options.topic, deadLetterName(this.options.topic)];
    for (let attempt = 0; ; attempt++) {
      const existing = new Set(await admin.listTopics());
      const missing = wanted.filter((topic) => !existing.has(topic));
      if (missing.length === 0) return;
      try {
        await admin.createTopics({ topics: missing, partitions: this.options.partitions, replicas: 1 });
        return;
      } catch (error) {
        if (attempt >= 3) throw error; // most likely "already exists" from a concurrent creator: look again
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  async start(sink: (delivery: KafkaDelivery) => void, onLost: (error: Error) => void): Promise<void> {
    const consumer = this.#required(this.#consumer);
    const stream = await consumer.consume({
      topics: [this.options.topic],
      mode: "committed",
      fallbackMode: "earliest",
      autocommit: false,
      // One fetch pushes everything it got; bounded, so a rebalance has little fetched-but-unprocessed to redo.
      maxBytes: this.options.fetchMaxBytes,
      highWaterMark: this.options.bufferedMessages,
    });
    this.#stream = stream;
    stream.on("data", (message: Message<Buffer, Buffer, Buffer, Buffer>) => {
      const delivery = { payload: message.value, message };
      if (!this.isStale(delivery) && !this.#seenBefore(message)) sink(delivery);
    });
    stream.on("error", (error: Error) => {
      if (!this.#closing) onLost(new SourceLostError(`Kafka stream failed: ${error.message}`, { cause: error }));
    });
    this.#consuming = true;
  }

  /**
   * A rebalance restarts every assigned partition at its committed offset; what was fetched
   * under the previous generation comes again, so counting it now would only make duplicates.
   */
  isStale(delivery: KafkaDelivery): boolean {
    const consumer = delivery.message.metadata.consumer as { generationId?: number } | undefined;
    return consumer?.generationId !== this.#consumer?.generationId;
  }

  /**
   * A fetch that starts inside a record batch gets the whole batch back from the broker, and a
   * client may hand the records before the fetch offset out again. Within one generation the
   * offsets of a partition only move forward, so anything below the next expected offset was
   * delivered already: dropping it here saves a store round trip that would only skip it.
   */
  #seenBefore(message: Message<Buffer, Buffer, Buffer, Buffer>): boolean {
    const generation = this.#consumer?.generationId;
    if (generation !== this.#offsetsGeneration) {
      this.#nextOffsets.clear();
      this.#offsetsGeneration = generation;
    }
    const next = this.#nextOffsets.get(message.partition);
    if (next !== undefined && message.offset < next) return true;
    this.#nextOffsets.set(message.partition, message.offset + 1n);
    return false;
  }

  pause(): void {
    this.#stream?.pause();
  }

  resume(): void {
    if (this.#consuming) this.#stream?.resume();
  }

  async deadLetter(items: readonly DeadLetter<KafkaDelivery>[]): Promise<void> {
    const producer = this.#required(this.#producer);
    const topic = deadLetterName(this.options.topic);
    try {
      await producer.send({
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
      throw new SourceSettleError(`dead-lettering to ${topic} failed: ${(error as Error).message}`, { cause: error });
    }
  }

  async ack(batch: readonly KafkaDelivery[]): Promise<void> {
    // The last delivery of each partition carries the batch's highest offset there.
    const lastByPartition = new Map<string, KafkaDelivery>();
    for (const delivery of batch) {
      lastByPartition.set(`${delivery.message.topic}:${delivery.message.partition}`, delivery);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no commit confirmation in ${COMMIT_TIMEOUT_MS} ms`)),
        COMMIT_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([Promise.all([...lastByPartition.values()].map((d) => d.message.commit())), timeout]);
    } catch (error) {
      throw new SourceSettleError(`offset commit failed: ${(error as Error).message}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Leaving the offsets uncommitted is the release: the partition's next owner starts before them. */
  async release(_batch: readonly KafkaDelivery[]): Promise<void> {}

  async stop(): Promise<void> {
    this.#consuming = false;
    this.#stream?.pause();
  }

  close(): Promise<void> {
    this.#closing = true;
    this.#consuming = false;
    this.#closed ??= (async () => {
      const steps = [
        () => this.#stream?.close(),
        () => this.#consumer?.close(true),
        () => this.#producer?.close(),
        () => this.#admin?.close(),
      ];
      for (const step of steps) {
        try {
          await step();
        } catch {
          // Keep closing the rest.
        }
      }
    })();
    return this.#closed;
  }

  async backlog(): Promise<number | undefined> {
    if (!this.#consumer || !this.ready) return undefined;
    const lag = await this.#consumer.getLag({ topics: [this.options.topic] });
    let total = 0n;
    for (const partitions of lag.values()) for (const value of partitions) if (value > 0n) total += value;
    return Number(total);
  }

  #required<T>(value: T | undefined): T {
    if (value === undefined) throw new SourceLostError("Kafka source used before connect()");
    return value;
  }
}
