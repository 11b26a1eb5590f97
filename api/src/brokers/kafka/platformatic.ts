import { Admin, ProduceAcks, Producer, type Serializers, stringSerializer } from "@platformatic/kafka";
import { ensureKafkaTopics, javaCompatiblePartitioner } from "@weather/brokers";
import type { KafkaProducer, KafkaProducerOptions, KafkaRecord } from "./producer.ts";

const passThrough = (data?: Buffer) => data;
const serializers: Partial<Serializers<string, Buffer, string, string>> = {
  key: stringSerializer,
  value: passThrough,
};

export class PlatformaticProducer implements KafkaProducer {
  readonly client = "platformatic" as const;
  // The client takes sequence numbers when a request is sent; Kafka keeps the
  // last 5 batches per producer and partition for deduplication.
  readonly maxInFlight = 5;
  readonly #producer: Producer<string, Buffer, string, string>;
  readonly #admin: Admin;

  readonly #options: KafkaProducerOptions;
  constructor(options: KafkaProducerOptions) {
    this.#options = options;
    const base = {
      clientId: options.clientId,
      bootstrapBrokers: options.brokers,
      timeout: options.requestTimeoutMs,
      connectTimeout: Math.min(options.requestTimeoutMs, 3000),
      retries: 2,
      retryDelay: 100,
    };
    this.#producer = new Producer({
      ...base,
      serializers,
      idempotent: true,
      acks: ProduceAcks.ALL,
      autocreateTopics: false,
      partitioner: javaCompatiblePartitioner,
    });
    this.#admin = new Admin(base);
  }

  async connect(): Promise<void> {
    await ensureKafkaTopics(this.#admin, [this.#options.topic], this.#options);
    await this.#producer.metadata({ topics: [this.#options.topic], forceUpdate: true });
  }

  async send(records: readonly KafkaRecord[]): Promise<void> {
    const topic = this.#options.topic;
    await this.#producer.send({ messages: records.map((r) => ({ topic, key: r.key, value: r.value })) });
  }

  async ping(): Promise<void> {
    await this.#producer.metadata({ topics: [this.#options.topic], forceUpdate: true });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#producer.close(), this.#admin.close()]);
  }
}
