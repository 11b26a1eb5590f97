/**
 * Every broker failure says whether trying again can help. The verdict comes from the client
 * library where it gives one (Kafka's `canRetry`, AMQP reply codes), never from a guess made
 * at the call site.
 */
export class BrokerError extends Error {
  override readonly name: string = "BrokerError";
  constructor(
    readonly broker: "rabbitmq" | "kafka",
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(`${broker}: ${message}`, options);
  }
}

/** The queue exists with other arguments (e.g. classic where quorum is configured): an operator must act. */
export class TopologyMismatchError extends BrokerError {
  override readonly name = "TopologyMismatchError";
}

/** The error's own verdict, where it carries one (`retriable` here, `canRetry` in @platformatic/kafka). */
export function isRetriable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return true;
  const flags = error as { retriable?: unknown; canRetry?: unknown };
  if (typeof flags.retriable === "boolean") return flags.retriable;
  if (typeof flags.canRetry === "boolean") return flags.canRetry;
  return true; // unknown failures (sockets, timeouts) are worth another try with backoff
}

export const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));
