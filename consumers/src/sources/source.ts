/** One message as a broker delivered it; each adapter adds what it needs to settle it. */
export interface Delivery {
  readonly payload: Uint8Array;
  /**
   * Where the broker says it sits, for the store's replay guard: Kafka `<partition>:<offset>`;
   * RabbitMQ `1` when the broker redelivers it (it may have been counted before), else `0`.
   */
  readonly position: string;
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
 * What the counting core needs from a broker. Adapters stay thin: connect and declare, deliver
 * in order, settle a whole batch, dead-letter, report their backlog. Reconnecting is the core's
 * job (SourceConnection): an adapter only opens and closes one connection at a time.
 */
export interface Source<D extends Delivery> {
  /** True while connected and delivering. */
  readonly ready: boolean;
  /**
   * The store key that recognises this broker's replays (store layout): RabbitMQ's unacknowledged
   * ids, or the Kafka topic's counted offsets (known once connected).
   */
  readonly replayGuardKey: string | undefined;
  /**
   * Connects, declares the queue/topic and its dead-letter counterpart, and starts delivering
   * to `sink` in broker order. `onLost` is called once if this connection is lost later.
   * Rejects with a BrokerError (carrying the client's retriable verdict) if it cannot.
   */
  open(sink: (delivery: D) => void, onLost: (error: Error) => void): Promise<void>;
  /** Backpressure: stop / restart fetching while the core's buffer is full. */
  pause(): void;
  resume(): void;
  /** Publishes bad messages, with their reason, to the dead-letter queue/topic; resolves once the broker has them. */
  deadLetter(items: readonly DeadLetter<D>[]): Promise<void>;
  /**
   * Acknowledges (RabbitMQ) or commits (Kafka) a counted batch, oldest first, and resolves once
   * the broker has confirmed it, with the deliveries it acknowledged. Deliveries of an earlier
   * connection are left alone: their broker redelivers them, and the store skips them.
   */
  ack(batch: readonly D[]): Promise<readonly D[]>;
  /** Hands a batch back for redelivery (requeue / leave the offset uncommitted). */
  release(batch: readonly D[]): Promise<void>;
  /** Stops delivering; deliveries in hand can still be settled. */
  stop(): Promise<void>;
  /** Closes the current connection, each step bounded. Safe to call twice; open() may follow. */
  close(): Promise<void>;
  /** Messages waiting: RabbitMQ ready messages in the queue, or Kafka lag over this member's partitions. */
  backlog(): Promise<number | undefined>;
}
