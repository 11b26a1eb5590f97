import { Admin } from "@platformatic/kafka";
import { deadLetterName, kafkaGroupLag, kafkaGroupStable, RabbitMqNodes } from "@weather/brokers";

/**
 * Broker objects the bench owns: one topic and one queue per phase, named with the
 * run id so they can never be someone else's. Created before the stack starts (so the
 * partition count is the phase's) and deleted afterwards, dead-letter companions included.
 * Either topology: RABBITMQ_URL and KAFKA_BROKERS may list a cluster's nodes, and topics get
 * `replicationFactor` copies (min.insync.replicas one less, as the services create them).
 */
export class BrokerAdmin {
  private readonly rabbitNodes: RabbitMqNodes;

  constructor(
    rabbitUrl: string,
    private readonly brokers: string,
    private readonly replicationFactor = 1,
  ) {
    this.rabbitNodes = new RabbitMqNodes(rabbitUrl);
  }

  private admin(): Admin {
    return new Admin({ clientId: "weather-bench", bootstrapBrokers: this.brokers.split(",") });
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    const admin = this.admin();
    try {
      await admin.createTopics({
        topics: [topic],
        partitions,
        replicas: this.replicationFactor,
        configs: [{ name: "min.insync.replicas", value: String(Math.max(1, this.replicationFactor - 1)) }],
      });
    } finally {
      await admin.close();
    }
  }

  /** Deletes every topic whose name starts with `prefix` (the phase topic and its dead-letter topic). */
  async deleteTopics(prefix: string): Promise<void> {
    const admin = this.admin();
    try {
      const topics = (await admin.listTopics()).filter((name) => name.startsWith(prefix));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.close();
    }
  }

  /** Messages of `queue` not acknowledged by anyone; with no consumer connected, everything left. */
  async queueDepth(queue: string): Promise<number> {
    const { connection } = await this.rabbitNodes.connect();
    try {
      return (await (await connection.createChannel()).checkQueue(queue)).messageCount;
    } finally {
      await connection.close();
    }
  }

  async groupLag(topic: string, group: string): Promise<number> {
    const admin = this.admin();
    try {
      return await kafkaGroupLag(admin, topic, group);
    } finally {
      await admin.close();
    }
  }

  async groupStable(group: string, members: number): Promise<boolean> {
    const admin = this.admin();
    try {
      return await kafkaGroupStable(admin, group, members);
    } finally {
      await admin.close();
    }
  }

  async deleteQueues(queue: string): Promise<void> {
    const { connection } = await this.rabbitNodes.connect();
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
