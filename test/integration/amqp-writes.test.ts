// coalesceAmqpWrites on the pinned amqplib and the real broker: the internals it relies on are
// there, and messages published in one turn (written as one socket write) all arrive, in order.
import { expect, test } from "bun:test";
import { coalesceAmqpWrites } from "@weather/brokers";
import amqp from "amqplib";
import { stack, uniqueName, waitFor } from "../support/index.ts";

test("publishes of one turn are written together and all arrive, in order", async () => {
  const connection = await amqp.connect(stack.RABBITMQ_URL.split(",")[0] as string);
  const queue = uniqueName("amqp-writes");
  try {
    expect(coalesceAmqpWrites(connection)).toBe(true);
    const channel = await connection.createConfirmChannel();
    await channel.assertQueue(queue, { durable: false, autoDelete: false });
    const sent = Array.from({ length: 500 }, (_, i) => `message ${i}`);
    for (const body of sent) channel.sendToQueue(queue, Buffer.from(body));
    await channel.waitForConfirms();
    const received: string[] = [];
    await channel.consume(queue, (message) => {
      if (message) received.push(message.content.toString());
    });
    await waitFor("all 500 delivered", () => received.length >= sent.length, { timeoutMs: 10_000 });
    expect(received).toEqual(sent);
    await channel.deleteQueue(queue);
  } finally {
    await connection.close();
  }
});
