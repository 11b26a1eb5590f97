/** One message as a broker delivered it; each adapter adds what it needs to settle it. */
export interface Delivery {
  readonly payload: Uint8Array;
}

/** A message that can never be counted, with why; published to the dead-letter queue/topic. */
export interface DeadLetter<D extends Delivery> {
  readonly delivery: D;
  /** Short machine-readable reason: not_json | invalid_envelope. */
  readonly reason: string;
  /** Human-readable detail (which field broke which rule). */
  readonly detail: string;
}

/**
 * What the counting core needs from a broker. Adapters stay thin: connect and declare,
 * deliver in order, settle a whole batch, dead-letter, report their backlog.
 */
export interface Source<D extends Delivery> {
  readonly kind: "rabbitmq" | "kafka";
  /** True while connected and consuming. */
  readonly ready: boolean;
  /** Connects and declares the queue/topic and its dead-letter counterpart. */
  connect(): Promise<void>;
  /** Starts delivering, in broker order, to `sink`. `onLost` is called once if the broker connection is lost. */
  start(sink: (delivery: D) => void, onLost: (error: Error) => void): Promise<void>;
  /** Backpressure: stop / restart fetching while the core's buffer is full. */
  pause(): void;
  resume(): void;
  /** Publishes bad messages, with their reason, to the dead-letter queue/topic; resolves once the broker has them. */
  deadLetter(items: readonly DeadLetter<D>[]): Promise<void>;
  /** Acknowledges (RabbitMQ) or commits (Kafka) every delivery of a batch, oldest first. */
  ack(batch: readonly D[]): Promise<void>;
  /**
   * True for a delivery the broker will deliver again anyway, so it must be neither counted nor
   * settled here (Kafka: fetched before a rebalance; the new assignment restarts at the committed offset).
   */
  isStale(delivery: D): boolean;
  /** Hands a batch back for redelivery (requeue / leave the offset uncommitted). */
  release(batch: readonly D[]): Promise<void>;
  /** Stops fetching; deliveries in hand can still be acknowledged. */
  stop(): Promise<void>;
  /** Closes connections. Safe to call twice. */
  close(): Promise<void>;
  /** Messages waiting: RabbitMQ ready messages in the queue, or Kafka lag over this member's partitions. */
  backlog(): Promise<number | undefined>;
}
