import { Admin } from "@platformatic/kafka";
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
