import { afterAll, describe, expect, test } from "bun:test";
import { deadLetterName, declareRabbitQueues, TopologyMismatchError } from "@weather/brokers";
import amqp from "amqplib";
import { ROOT, rabbitQueue, stack, uniqueName } from "../support/index.ts";

/** A classic `message` queue from before quorum became the default: a clear error, then a migration that keeps every message. */
describe("moving a classic queue to quorum", () => {
  const queue = uniqueName("migrate");
  const dead = deadLetterName(queue);
  let connection: amqp.ChannelModel | undefined;

  afterAll(async () => {
    const channel = await connection?.createChannel();
    for (const name of [queue, dead, `${queue}.migrating`, `${dead}.migrating`]) await channel?.deleteQueue(name);
    await connection?.close();
  });

  test("the services refuse the old queue with an error that says what to do; the script migrates it", async () => {
    connection = await amqp.connect(stack.RABBITMQ_URL);
    connection.on("error", () => {});
    const old = await connection.createConfirmChannel();
    await old.assertQueue(dead, { durable: true });
    await old.assertQueue(queue, {
      durable: true,
      arguments: { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead },
    });
    const bodies = Array.from({ length: 250 }, (_, i) => `message ${i}`);
    for (const body of bodies) old.sendToQueue(queue, Buffer.from(body), { persistent: true, messageId: body });
    old.sendToQueue(dead, Buffer.from("dead one"), { persistent: true, headers: { reason: "not_json" } });
    await old.waitForConfirms();

    const probe = await connection.createChannel();
    probe.on("error", () => {});
    const refusal = await declareRabbitQueues(probe, rabbitQueue(queue)).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(TopologyMismatchError);
    expect((refusal as TopologyMismatchError).retriable).toBe(false);
    expect((refusal as Error).message).toContain("scripts/rabbitmq/migrate-queue.ts");

    const run = Bun.spawnSync([process.execPath, "scripts/rabbitmq/migrate-queue.ts"], {
      cwd: ROOT,
      env: { ...process.env, RABBITMQ_QUEUE: queue, RABBITMQ_QUEUE_TYPE: "quorum" },
    });
    expect(run.stderr.toString()).toBe("");
    expect(run.stdout.toString()).toContain("(250 and 1 messages moved)");

    const channel = await connection.createChannel();
    await declareRabbitQueues(channel, rabbitQueue(queue)); // what every service declares now succeeds
    const received: string[] = [];
    for (;;) {
      const message = await channel.get(queue, { noAck: true });
      if (message === false) break;
      received.push(message.content.toString());
    }
    expect(received).toEqual(bodies); // every message, in order
    const letter = await channel.get(dead, { noAck: true });
    expect(letter === false ? undefined : letter.properties.headers?.reason).toBe("not_json");
  });
});
