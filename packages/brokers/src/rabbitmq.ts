import type { Channel } from "amqplib";
import { BrokerError, describeError, TopologyMismatchError } from "./errors.ts";
import { deadLetterName } from "./topology.ts";

/** quorum: replicated, durable, with a delivery limit (RabbitMQ's recommendation); classic: one replica. */
export type RabbitQueueType = "quorum" | "classic";

export interface RabbitQueueSettings {
  queue: string;
  type: RabbitQueueType;
  /**
   * Quorum queues only: deliveries of one message before the broker dead-letters it to
   * `<queue>.dlq` (a message that crashes every consumer that takes it).
   */
  deliveryLimit: number;
  /**
   * Quorum queues only: replicas of each queue (x-quorum-initial-group-size), e.g. 3 on a
   * three-node cluster; undefined leaves it to the broker. Every declarer must agree: RabbitMQ
   * refuses a redeclaration with another value (406).
   */
  quorumGroupSize?: number | undefined;
}

/** The replica count argument of a quorum queue, when one is configured. */
function replicaArguments(settings: RabbitQueueSettings): Record<string, number> {
  return settings.type === "quorum" && settings.quorumGroupSize !== undefined
    ? { "x-quorum-initial-group-size": settings.quorumGroupSize }
    : {};
}

/** Arguments of the main queue: rejected (or, quorum, over-delivered) messages fall through to its dead-letter queue. */
export function rabbitmqQueueArguments(settings: RabbitQueueSettings): Record<string, string | number> {
  const deadLetter = { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": deadLetterName(settings.queue) };
  if (settings.type === "classic") return { "x-queue-type": "classic", ...deadLetter };
  return {
    "x-queue-type": "quorum",
    "x-delivery-limit": settings.deliveryLimit,
    ...replicaArguments(settings),
    ...deadLetter,
  };
}

/** Arguments of the dead-letter queue: the same type and replicas as the main queue. */
export function rabbitmqDeadLetterArguments(settings: RabbitQueueSettings): Record<string, string | number> {
  return { "x-queue-type": settings.type, ...replicaArguments(settings) };
}

/**
 * Declares the dead-letter queue and the main queue. A queue declared earlier with other
 * arguments (typically a classic `message` queue from before quorum became the default) is a
 * clear, non-retriable error that says what to do, rather than a channel closed with 406.
 */
export async function declareRabbitQueues(channel: Channel, settings: RabbitQueueSettings): Promise<void> {
  const { queue, type } = settings;
  try {
    await channel.assertQueue(deadLetterName(queue), {
      durable: true,
      arguments: rabbitmqDeadLetterArguments(settings),
    });
    await channel.assertQueue(queue, { durable: true, arguments: rabbitmqQueueArguments(settings) });
  } catch (error) {
    if (amqpReplyCode(error) === PRECONDITION_FAILED) {
      throw new TopologyMismatchError(
        "rabbitmq",
        `queue ${queue} (or ${deadLetterName(queue)}) exists with other arguments than a ${type} queue with ` +
          `delivery limit ${settings.deliveryLimit}${settings.quorumGroupSize ? ` and ${settings.quorumGroupSize} replicas` : ""}: ` +
          `${describeError(error)}. Set RABBITMQ_QUEUE_TYPE (and RABBITMQ_QUORUM_GROUP_SIZE) to the existing ` +
          `queue's, or migrate it: bun scripts/rabbitmq/migrate-queue.ts (see docs/consumers.md)`,
        false,
        { cause: error },
      );
    }
    throw amqpError("declaring queues", error);
  }
}

const PRECONDITION_FAILED = 406;
/** Reply codes after which the same request can never succeed: access refused, not allowed, precondition failed, ... */
const PERMANENT_REPLY_CODES = new Set([402, 403, 406, 501, 502, 503, 530, 540]);

/** The AMQP reply code of a connection or channel closed by the server, if any. */
export function amqpReplyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "number") return code;
  // The handshake reports refusals only in its message: "Handshake terminated by server: 403 (ACCESS-REFUSED)".
  const match = /server: (\d{3}) \(/.exec(describeError(error));
  return match ? Number(match[1]) : undefined;
}

/** The broker's verdict: socket failures, a closed channel, 320 (shutdown) or 404 (redeclared on reconnect) are worth retrying. */
export function amqpRetriable(error: unknown): boolean {
  const code = amqpReplyCode(error);
  return code === undefined || !PERMANENT_REPLY_CODES.has(code);
}

/** Wraps an amqplib failure with the broker's own retriable verdict. */
export function amqpError(what: string, error: unknown): BrokerError {
  if (error instanceof BrokerError) return error;
  return new BrokerError("rabbitmq", `${what}: ${describeError(error)}`, amqpRetriable(error), { cause: error });
}

/** The parts of amqplib's connection that coalesceAmqpWrites uses (not its public API). */
interface AmqpConnectionInternals {
  connection?: {
    muxer?: { _readIncoming?: () => void };
    stream?: { cork?: () => void; uncork?: () => void };
  };
}

/**
 * Makes an amqplib connection write the frames of all the messages published in one turn of the
 * event loop as one socket write, instead of one write per message: amqplib's multiplexer writes
 * each message's frames separately, and on loopback each write costs a system call plus the
 * receiver's TCP processing. Measured on the API at 64 concurrent requests: 31-36 -> 21-22 µs of
 * CPU per request, 16-19k -> 21k requests/s (docs/benchmarks.md, "CPU per message").
 *
 * amqplib offers no option for this, so the socket is corked around the multiplexer's write loop.
 * Returns false (and changes nothing) when those internals are not there, e.g. after an amqplib
 * upgrade; the integration tests check that it returns true with the pinned version.
 */
export function coalesceAmqpWrites(model: object): boolean {
  const internals = (model as AmqpConnectionInternals).connection;
  const muxer = internals?.muxer;
  const socket = internals?.stream;
  const readIncoming = muxer?._readIncoming;
  if (!muxer || !socket?.cork || !socket.uncork || typeof readIncoming !== "function") return false;
  const cork = socket.cork.bind(socket);
  const uncork = socket.uncork.bind(socket);
  muxer._readIncoming = () => {
    cork();
    try {
      readIncoming.call(muxer);
    } finally {
      uncork();
    }
  };
  return true;
}
