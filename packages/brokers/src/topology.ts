/**
 * Names both sides must agree on. The API declares the queue and topic when it publishes, the
 * consumers when they subscribe, the bench and the tests when they set up: one definition here.
 */

/** Where bad messages go: queue `<queue>.dlq` on RabbitMQ, topic `<topic>.dlq` on Kafka. */
export const deadLetterName = (name: string): string => `${name}.dlq`;
