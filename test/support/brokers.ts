import { Admin, Consumer, Producer } from "@platformatic/kafka";
import { waitFor } from "@weather/async";
import {
  deadLetterName,
  declareRabbitQueues,
  ensureKafkaTopics,
  kafkaGroupLag,
  kafkaGroupStable,
  type RabbitQueueSettings,
} from "@weather/brokers";
import amqp from "amqplib";
import { uniqueName } from "./names.ts";
import { kafkaBrokers, stack } from "./stack.ts";

/** The queue settings every service uses by default, for a queue of the test's own. */
export const rabbitQueue = (queue: string): RabbitQueueSettings => ({
  queue,
  type: stack.RABBITMQ_QUEUE_TYPE,
  deliveryLimit: stack.RABBITMQ_DELIVERY_LIMIT,
});

/** A queue of the test's own, declared as the services declare it; publishes like the API does. */
export class RabbitFixture {
  #connection: amqp.ChannelModel | undefined;
  #channel: amqp.ConfirmChannel | undefined;
  constructor(readonly queue: string) {}

  async open(): Promise<void> {
    this.#connection = await amqp.connect(stack.RABBITMQ_URL);
    this.#channel = await this.#connection.createConfirmChannel();
    await declareRabbitQueues(this.#channel, rabbitQueue(this.queue));
  }

  get channel(): amqp.ConfirmChannel {
    if (!this.#channel) throw new Error("RabbitFixture used before open()");
    return this.#channel;
  }

  /** Publishes persistent messages with confirms, like the API does. */
  async publish(payloads: readonly string[]): Promise<void> {
    for (let i = 0; i < payloads.length; i += 500) {
      for (const payload of payloads.slice(i, i + 500)) {
        this.channel.sendToQueue(this.queue, Buffer.from(payload), {
          persistent: true,
          contentType: "application/json",
        });
      }
      await this.channel.waitForConfirms();
    }
  }

  /** Reads (and acknowledges) everything in the dead-letter queue. */
  async drainDeadLetters(): Promise<amqp.GetMessage[]> {
    const out: amqp.GetMessage[] = [];
    for (;;) {
      const message = await this.channel.get(deadLetterName(this.queue), { noAck: true });
      if (message === false) return out;
      out.push(message);
    }
  }

  /**
   * Messages ready in the queue. With no consumer connected this is everything not acknowledged,
   * since the broker returns every unacknowledged delivery to the queue when its channel closes.
   */
  async depth(): Promise<number> {
    return (await this.channel.checkQueue(this.queue)).messageCount;
  }

  /** What no consumer has acknowledged yet (see depth); the same call as KafkaFixture.backlog. */
  backlog(_groupId?: string): Promise<number> {
    return this.depth();
  }

  /** Deletes the queues this test created. */
  async close(): Promise<void> {
    const channel = this.#channel;
    if (channel) {
      await channel.deleteQueue(this.queue).catch(() => {});
      await channel.deleteQueue(deadLetterName(this.queue)).catch(() => {});
    }
    await this.#connection?.close().catch(() => {});
  }
}

/** A topic (and its dead-letter topic) of the test's own. */
export class KafkaFixture {
  readonly admin = new Admin({ clientId: "tests-admin", bootstrapBrokers: kafkaBrokers() });
  readonly producer = new Producer({ clientId: "tests", bootstrapBrokers: kafkaBrokers(), acks: -1 });
  constructor(
    readonly topic: string,
    readonly partitions = 3,
  ) {}

  async open(): Promise<void> {
    await ensureKafkaTopics(this.admin, [this.topic, deadLetterName(this.topic)], {
      partitions: this.partitions,
      replicationFactor: stack.KAFKA_REPLICATION_FACTOR,
    });
  }

  async publish(payloads: readonly string[]): Promise<void> {
    for (let i = 0; i < payloads.length; i += 500) {
      await this.producer.send({
        messages: payloads.slice(i, i + 500).map((value, j) => ({
          topic: this.topic,
          key: Buffer.from(String(i + j)),
          value: Buffer.from(value),
        })),
      });
    }
  }

  /**
   * Waits until the group is stable with `members` members that all hold partitions, so that a
   * scenario starts from a settled group (a rebalance mid-run is a case of its own).
   */
  async awaitGroup(groupId: string, members: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `group ${groupId} stable with ${members} members`,
      () => kafkaGroupStable(this.admin, groupId, members),
      { timeoutMs },
    );
  }

  /** Records of the topic `groupId` has not committed: 0 means no replay can come (see kafkaGroupLag). */
  lag(groupId: string): Promise<number> {
    return kafkaGroupLag(this.admin, this.topic, groupId);
  }

  /** What `groupId` has not committed (see lag); the same call as RabbitFixture.backlog. */
  backlog(groupId?: string): Promise<number> {
    if (groupId === undefined) throw new Error("a Kafka backlog is a consumer group's");
    return this.lag(groupId);
  }

  /** Reads the first `expected` records of the dead-letter topic with a throw-away group. */
  async readDeadLetters(expected: number, timeoutMs = 30_000) {
    const consumer = new Consumer({
      groupId: uniqueName("dlq-reader"),
      clientId: "tests-dlq",
      bootstrapBrokers: kafkaBrokers(),
      maxWaitTime: 100,
    });
    const stream = await consumer.consume({
      topics: [deadLetterName(this.topic)],
      mode: "earliest",
      autocommit: false,
    });
    const out: { value: string; headers: Record<string, string> }[] = [];
    stream.on("data", (message) => {
      const headers: Record<string, string> = {};
      for (const [key, value] of message.headers) headers[key.toString()] = value.toString();
      out.push({ value: message.value.toString(), headers });
    });
    try {
      await waitFor(`${expected} dead letters`, () => out.length >= expected, { timeoutMs });
      return out;
    } finally {
      await consumer.close(true);
    }
  }

  async close(): Promise<void> {
    await this.admin.deleteTopics({ topics: [this.topic, deadLetterName(this.topic)] }).catch(() => {});
    await this.producer.close().catch(() => {});
    await this.admin.close().catch(() => {});
  }
}
