/**
 * Moves an existing queue and its dead-letter queue to the configured queue type (classic ->
 * quorum, or back), keeping every message: RabbitMQ cannot change a queue's type in place.
 *
 *   bun scripts/rabbitmq/migrate-queue.ts            (RABBITMQ_URL, RABBITMQ_QUEUE, RABBITMQ_QUEUE_TYPE, ...)
 *
 * Each queue is drained into a temporary `<name>.migrating` queue of the new type (every move is
 * published with a confirm before the original is acknowledged), deleted, declared again with
 * the new arguments, and filled back the same way. Stop the API and the consumers first: a
 * message published to the queue while it is being replaced would be refused (the API answers
 * 503, and the client's retry with the same id is counted once).
 */
import {
  amqpReplyCode,
  deadLetterName,
  declareRabbitQueues,
  type RabbitQueueSettings,
  rabbitmqQueueArguments,
} from "@weather/brokers";
import { loadStackConfig } from "@weather/config";
import amqp, { type ChannelModel, type ConfirmChannel } from "amqplib";

/** Moves every message of `from` to `to` (which must exist); returns how many. */
async function moveAll(channel: ConfirmChannel, from: string, to: string): Promise<number> {
  let moved = 0;
  for (;;) {
    const message = await channel.get(from, { noAck: false });
    if (message === false) return moved;
    channel.sendToQueue(to, message.content, { ...message.properties, headers: message.properties.headers ?? {} });
    await channel.waitForConfirms();
    channel.ack(message);
    moved++;
  }
}

/** Deletes a queue this script has just emptied (quorum queues do not take delete's if-empty flag). */
async function deleteDrained(channel: ConfirmChannel, name: string): Promise<void> {
  const { messageCount } = await channel.checkQueue(name);
  if (messageCount > 0)
    throw new Error(`${name} received ${messageCount} messages while being migrated: stop the API first`);
  await channel.deleteQueue(name);
}

/**
 * Gives queue `name` the arguments `args` (a new type among them), keeping its messages, unless it
 * already has them (or does not exist yet: then it is simply declared). Returns the messages moved.
 */
async function migrate(connection: ChannelModel, name: string, args: Record<string, unknown>): Promise<number> {
  const declare = (channel: amqp.Channel) => channel.assertQueue(name, { durable: true, arguments: args });
  // The check runs on a connection of its own: RabbitMQ 3.x can fail the whole connection after the 406.
  const probe = await amqp.connect(stack.RABBITMQ_URL);
  probe.on("error", () => {});
  try {
    const channel = await probe.createChannel();
    channel.on("error", () => {}); // a mismatch closes this channel with 406, reported by the call below
    await declare(channel);
    return 0;
  } catch (error) {
    if (amqpReplyCode(error) !== 406) throw error;
  } finally {
    await probe.close().catch(() => {});
  }
  const temporary = `${name}.migrating`;
  const drain = await connection.createConfirmChannel();
  await drain.assertQueue(temporary, { durable: true, arguments: { "x-queue-type": args["x-queue-type"] } });
  const out = await moveAll(drain, name, temporary);
  await deleteDrained(drain, name);
  await drain.close();
  // A fresh channel for the queue's new incarnation: a channel remembers the queues it used (RabbitMQ 3.x).
  const refill = await connection.createConfirmChannel();
  await declare(refill);
  const back = await moveAll(refill, temporary, name);
  await deleteDrained(refill, temporary);
  await refill.close();
  if (out !== back) throw new Error(`${name}: moved ${out} messages out but ${back} back`);
  return out;
}

const stack = loadStackConfig();
const settings: RabbitQueueSettings = {
  queue: stack.RABBITMQ_QUEUE,
  type: stack.RABBITMQ_QUEUE_TYPE,
  deliveryLimit: stack.RABBITMQ_DELIVERY_LIMIT,
};
const connection = await amqp.connect(stack.RABBITMQ_URL);
connection.on("error", () => {}); // failures surface through the calls that fail
try {
  const dead = deadLetterName(settings.queue);
  const deadMoved = await migrate(connection, dead, { "x-queue-type": settings.type });
  const moved = await migrate(connection, settings.queue, rabbitmqQueueArguments(settings));
  // The declaration every service makes now succeeds.
  const check = await connection.createChannel();
  await declareRabbitQueues(check, settings);
  await check.close();
  console.log(`${settings.queue} and ${dead} are ${settings.type} queues (${moved} and ${deadMoved} messages moved)`);
} finally {
  await connection.close();
}
