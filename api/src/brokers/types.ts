export type BrokerName = "rabbitmq" | "kafka";

/** One encoded envelope, ready for the wire. */
export interface OutboundMessage {
  id: string;
  payload: Buffer;
}

/**
 * A broker the API publishes to. `publish` resolves only once the broker has
 * durably confirmed every message, and rejects with a BrokerError otherwise.
 */
export interface BrokerPublisher {
  readonly name: BrokerName;
  /** Connects in the background and keeps reconnecting; never throws. */
  start(): void;
  /** True while connected and able to publish. */
  isUp(): boolean;
  publish(messages: readonly OutboundMessage[]): Promise<void>;
  /** Waits for in-flight publishes (bounded by the caller), then closes. Safe to call twice. */
  close(): Promise<void>;
}

/** A broker could not take a message. Always retriable: the broker may come back. */
export class BrokerError extends Error {
  override readonly name = "BrokerError";
  readonly retriable = true;
  constructor(
    readonly broker: BrokerName,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${broker}: ${message}`, options);
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Resolves when `promise` settles or after `ms`, whichever is first: a close step must not hang shutdown. */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<"settled" | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        () => "settled" as const,
        () => "settled" as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
