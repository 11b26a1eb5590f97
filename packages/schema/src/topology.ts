/**
 * Broker topology both sides must agree on: the API declares the queue when it publishes,
 * the consumers when they subscribe, and RabbitMQ refuses a second declaration whose
 * arguments differ. Keep them here, once.
 */

/** Where bad messages go: queue `<queue>.dlq` on RabbitMQ, topic `<topic>.dlq` on Kafka. */
export const deadLetterName = (name: string): string => `${name}.dlq`;

/** Arguments of the durable main queue: rejected messages fall through to its dead-letter queue. */
export function rabbitmqQueueArguments(queue: string): Record<string, string> {
  return { "x-dead-letter-exchange": "", "x-dead-letter-routing-key": deadLetterName(queue) };
}
