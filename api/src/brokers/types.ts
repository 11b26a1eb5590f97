export type BrokerName = "rabbitmq" | "kafka";

/** One encoded envelope, ready for the wire. */
export interface OutboundMessage {
  id: string;
  payload: Buffer;
}

/**
 * A broker the API publishes to. `publish` resolves only once the broker has durably
 * confirmed every message, and rejects with a BrokerError (@weather/brokers) otherwise.
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
