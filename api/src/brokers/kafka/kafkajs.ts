import { Admin } from "@platformatic/kafka";
import { ensureKafkaTopics } from "@weather/brokers";
import { Kafka, type Admin as KafkaJsAdmin, logLevel, type Producer } from "kafkajs";
import type { KafkaProducer, KafkaProducerOptions, KafkaRecord } from "./producer.ts";

export class KafkaJsProducer implements KafkaProducer {
  readonly client = "kafkajs" as const;
  // kafkajs takes the idempotence sequence number when it builds a request and
  // advances it on the response: two requests in flight would reuse a number.
  readonly maxInFlight = 1;
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #admin: KafkaJsAdmin;

  readonly #options: KafkaProducerOptions;
  constructor(options: KafkaProducerOptions) {
    this.#options = options;
    this.#kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      logLevel: logLevel.NOTHING,
      connectionTimeout: Math.min(options.requestTimeoutMs, 3000),
      requestTimeout: options.requestTimeoutMs,
      // Failures surface quickly; the API answers 503 and the client retries with the same id.
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
    });
    this.#producer = this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.#admin = this.#kafka.admin();
  }

  async connect(): Promise<void> {
    // Topics are created with the project's one topology helper (on @platformatic/kafka's admin).
    const admin = new Admin({ clientId: `${this.#options.clientId}-admin`, bootstrapBrokers: this.#options.brokers });
    try {
      await ensureKafkaTopics(admin, [this.#options.topic], this.#options);
    } finally {
      await admin.close();
    }
    await this.#admin.connect();
    await this.#producer.connect();
  }

  async send(records: readonly KafkaRecord[]): Promise<void> {
    await this.#producer.send({ topic: this.#options.topic, acks: -1, messages: records as KafkaRecord[] });
  }

  async ping(): Promise<void> {
    await this.#admin.fetchTopicMetadata({ topics: [this.#options.topic] });
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
  }
}
