import { Admin, ListOffsetTimestamps } from "@platformatic/kafka";
import { deadLetterName } from "@weather/brokers";
import amqp from "amqplib";
import { kafkaBrokers, stack, uniqueName, waitFor } from "../../../test/support/index.ts";

/** Removes only what a test created: its queue, its dead-letter queue and its topic. */
export async function deleteTestResources(queue: string, topic: string): Promise<void> {
  const connection = await amqp.connect(stack.RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    await channel.deleteQueue(queue);
    await channel.deleteQueue(deadLetterName(queue));
  } finally {
    await connection.close();
  }
  const admin = new Admin({ clientId: "api-test-cleanup", bootstrapBrokers: kafkaBrokers() });
  try {
    await admin.deleteTopics({ topics: [topic] });
  } catch {
    // The topic may never have been created (e.g. the Kafka side was unreachable throughout).
  } finally {
    await admin.close();
  }
}

/** Reads `count` records of a topic from the beginning with a group id of its own. */
export async function readTopic(topic: string, count: number, timeoutMs = 15000) {
  const { Consumer, MessagesStreamModes, stringDeserializers } = await import("@platformatic/kafka");
  const consumer = new Consumer({
    groupId: uniqueName("api-test"),
    clientId: "api-test-reader",
    bootstrapBrokers: kafkaBrokers(),
    deserializers: stringDeserializers,
  });
  const records: { key: string; value: string; partition: number }[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    const timer = setTimeout(() => void stream.close(), timeoutMs);
    for await (const message of stream) {
      records.push({ key: String(message.key), value: String(message.value), partition: message.partition });
      if (records.length >= count) break;
    }
    clearTimeout(timer);
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return records;
}

/** Takes up to `count` messages from a queue (acknowledged: the test owns the queue). */
export async function readQueue(queue: string, count: number, timeoutMs = 10000) {
  const connection = await amqp.connect(stack.RABBITMQ_URL);
  const messages: { content: string; messageId: string | undefined; persistent: boolean }[] = [];
  try {
    const channel = await connection.createChannel();
    await waitFor(
      `${count} messages in ${queue}`,
      async () => {
        for (let message = await channel.get(queue, { noAck: true }); message !== false; ) {
          messages.push({
            content: message.content.toString(),
            messageId: message.properties.messageId as string | undefined,
            persistent: message.properties.deliveryMode === 2,
          });
          if (messages.length >= count) break;
          message = await channel.get(queue, { noAck: true });
        }
        return messages.length >= count;
      },
      { timeoutMs, intervalMs: 50 },
    ).catch(() => {}); // fewer than `count` is the caller's to assert
  } finally {
    await connection.close();
  }
  return messages;
}

/**
 * How many messages a queue holds and a topic has ever received (end offsets summed over its
 * partitions): with the reads above, what makes a count exact rather than "at least".
 */
export async function brokerCounts(queue: string, topic: string): Promise<{ queue: number; topic: number }> {
  const connection = await amqp.connect(stack.RABBITMQ_URL);
  let queued: number;
  try {
    const channel = await connection.createChannel();
    queued = (await channel.checkQueue(queue)).messageCount;
  } finally {
    await connection.close();
  }
  const admin = new Admin({ clientId: "api-test-offsets", bootstrapBrokers: kafkaBrokers() });
  try {
    const metadata = await admin.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const partitions = Array.from({ length: count }, (_, partitionIndex) => ({
      partitionIndex,
      timestamp: ListOffsetTimestamps.LATEST,
    }));
    const [listed] = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
    return { queue: queued, topic: Number((listed?.partitions ?? []).reduce((sum, p) => sum + p.offset, 0n)) };
  } finally {
    await admin.close();
  }
}
