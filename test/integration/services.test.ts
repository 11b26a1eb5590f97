// Proves that each server of the native stack does real work, not just that its port is open.
import { afterAll, describe, expect, test } from "bun:test";
import { Admin, Consumer, Producer, stringDeserializers, stringSerializers } from "@platformatic/kafka";
import amqp from "amqplib";
import Valkey from "iovalkey";
import { stack, uniqueName } from "../support/index.ts";

describe("RabbitMQ", () => {
  test("publishes and consumes a persistent message with a publisher confirm", async () => {
    const connection = await amqp.connect(stack.RABBITMQ_URL);
    const queue = uniqueName("foundation");
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(queue, { durable: true, autoDelete: false });
      const body = JSON.stringify({ hello: queue });
      channel.sendToQueue(queue, Buffer.from(body), { persistent: true });
      await channel.waitForConfirms();

      const received = await new Promise<string>((resolve) => {
        void channel.consume(queue, (message) => {
          if (!message) return;
          channel.ack(message);
          resolve(message.content.toString());
        });
      });
      expect(received).toBe(body);
      await channel.deleteQueue(queue);
      await channel.close();
    } finally {
      await connection.close();
    }
  });
});

describe("Kafka", () => {
  const brokers = stack.KAFKA_BROKERS.split(",");
  const topic = uniqueName("foundation");
  const admin = new Admin({ clientId: "foundation-test", bootstrapBrokers: brokers });

  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.close();
  });

  test("creates a topic, produces with acks=all and consumes it back", async () => {
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
    const metadata = await admin.metadata({ topics: [topic] });
    expect(metadata.topics.get(topic)?.partitionsCount).toBe(3);

    const producer = new Producer({
      clientId: "foundation-test",
      bootstrapBrokers: brokers,
      serializers: stringSerializers,
      idempotent: true,
      acks: -1,
    });
    const values = ["one", "two", "three"].map((word) => `${word}-${topic}`);
    await producer.send({ messages: values.map((value, i) => ({ topic, key: String(i), value })) });
    await producer.close();

    const consumer = new Consumer({
      groupId: uniqueName("foundation-group"),
      clientId: "foundation-test",
      bootstrapBrokers: brokers,
      deserializers: stringDeserializers,
    });
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
    const received: string[] = [];
    for await (const message of stream) {
      received.push(message.value as string);
      if (received.length === values.length) break;
    }
    await stream.close();
    await consumer.close(true);
    expect(received.sort()).toEqual([...values].sort());
  });
});

describe.each([
  ["Valkey", stack.VALKEY_URL, "valkey_version"],
  ["Redis", stack.REDIS_URL, "redis_version"],
])("%s", (_name, url, versionField) => {
  test("stores and reads back a value and reports its own version", async () => {
    const client = new Valkey(url);
    const key = uniqueName("foundation");
    try {
      await client.set(key, "sunny", "EX", 60);
      expect(await client.get(key)).toBe("sunny");
      const info = await client.info("server");
      expect(info).toContain(`${versionField}:`);
      expect(await client.config("GET", "maxmemory-policy")).toEqual(["maxmemory-policy", "noeviction"]);
      await client.del(key);
    } finally {
      client.disconnect();
    }
  });
});
