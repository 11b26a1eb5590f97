import { deadLetterName } from "@weather/schema";
import amqp from "amqplib";
import { Kafka, logLevel } from "kafkajs";

/**
 * Broker objects the bench owns: one topic and one queue per phase, named with the
 * run id so they can never be someone else's. Created before the stack starts (so the
 * partition count is the phase's) and deleted afterwards, dead-letter companions included.
 */
export class BrokerAdmin {
  private readonly kafka: Kafka;

  constructor(
    private readonly rabbitUrl: string,
    brokers: string,
  ) {
    this.kafka = new Kafka({ clientId: "weather-bench", brokers: brokers.split(","), logLevel: logLevel.NOTHING });
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
  }

  /** Deletes every topic whose name starts with `prefix` (the phase topic and its dead-letter topic). */
  async deleteTopics(prefix: string): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((name) => name.startsWith(prefix));
      if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 10_000 });
    } finally {
      await admin.disconnect();
    }
  }

  async deleteQueues(queue: string): Promise<void> {
    const connection = await amqp.connect(this.rabbitUrl);
    try {
      for (const name of [queue, deadLetterName(queue)]) {
        // A fresh channel each time: deleting a queue that does not exist closes the channel.
        const channel = await connection.createChannel();
        await channel.deleteQueue(name).catch(() => undefined);
        await channel.close().catch(() => undefined);
      }
    } finally {
      await connection.close();
    }
  }
}
