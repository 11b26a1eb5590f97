import { readFileSync } from "node:fs";
import { Backoff, type BackoffOptions } from "@weather/async";
import { DEDUP_BUCKETS, dedupBucketKey, RECENT_MESSAGES_MAX, STORE_KEYS } from "@weather/store";
import Valkey from "iovalkey";
import { storeError } from "../errors.ts";

/** The per-batch script. Loaded once per connection; iovalkey sends EVALSHA and falls back to EVAL on NOSCRIPT. */
const COUNT_BATCH_LUA = readFileSync(new URL("./count-batch.lua", import.meta.url), "utf8");

const FIXED_KEYS = [
  STORE_KEYS.countryCounts,
  STORE_KEYS.weatherCounts,
  STORE_KEYS.totalMessages,
  STORE_KEYS.recentMessages,
  STORE_KEYS.e2eLatencyMs,
  STORE_KEYS.duplicatesTotal,
  STORE_KEYS.deadLetteredTotal,
  STORE_KEYS.replaysTotal,
];

/** What the script needs of one valid message. */
export interface CountableMessage {
  /** The id as 16 bytes (see idBytes). */
  id: Buffer;
  country: string;
  weather: string;
  /** Field of e2e_latency_ms (see latencyField). */
  latencyField: string;
  /** The envelope as received, for recent_messages. */
  json: string;
  /** Where the broker says it sits (Delivery.position), for the replay guard. */
  position: string;
}

export interface BatchResult {
  counted: number;
  /** Ids counted within the dedup window (client retries, re-publishes). */
  duplicates: number;
  /** Broker replays of messages counted before. */
  replays: number;
  /** Per message, in batch order: true if counted now, false if it had been counted before. */
  countedFlags: boolean[];
}

type CountBatch = (
  numKeys: number,
  ...keysAndArgs: (string | number | Buffer)[]
) => Promise<[number, number, number, string]>;

export interface CountStoreOptions {
  mode: "rabbitmq" | "kafka";
  /** How long an id is remembered against client retries and re-publishes (DEDUP_WINDOW_SECONDS). */
  dedupWindowSeconds: number;
  /** RabbitMQ: an id whose acknowledgement was never confirmed is forgotten after this long. */
  unacknowledgedMaxAgeSeconds: number;
  /** Bound on one round trip; a slower store is treated as unavailable (retriable). */
  commandTimeoutMs: number;
  /** Pauses between reconnection attempts while the store is down. */
  reconnect: BackoffOptions;
  connectionName?: string;
}

/**
 * Valkey and Redis speak the same protocol, so one store serves both pipelines. Each batch is
 * one atomic script call: exact counts whatever the broker redelivers, and dedup state with a
 * bound (see docs/consumers.md): the window's buckets, the replay guard, nothing per message forever.
 */
export class CountStore {
  readonly client: Valkey;
  readonly #options: CountStoreOptions;
  readonly #bucketMs: number;
  #closed = false;

  constructor(url: string, options: CountStoreOptions) {
    this.#options = options;
    this.#bucketMs = Math.ceil((options.dedupWindowSeconds * 1000) / DEDUP_BUCKETS);
    const backoff = new Backoff(options.reconnect);
    this.client = new Valkey(url, {
      lazyConnect: true,
      connectionName: options.connectionName,
      commandTimeout: options.commandTimeoutMs,
      // The pipeline retries whole batches itself; a command should fail fast while disconnected.
      maxRetriesPerRequest: 1,
      // Reconnects forever, with the repository's one backoff; never gives up on a store that comes back.
      retryStrategy: () => backoff.next(),
    });
    this.client.on("ready", () => backoff.reset());
    this.client.defineCommand("countBatch", { lua: COUNT_BATCH_LUA });
    // Connection errors surface through the failing command; the event would otherwise be unhandled.
    this.client.on("error", () => {});
  }

  /** Starts connecting; the client keeps reconnecting by itself while the store is down. */
  connect(): void {
    this.client.connect().catch(() => {});
  }

  get ready(): boolean {
    return this.client.status === "ready";
  }

  /** The eviction policy; anything but noeviction could silently drop dedup state or counters. */
  async maxmemoryPolicy(): Promise<string | undefined> {
    try {
      const reply = (await this.client.config("GET", "maxmemory-policy")) as string[];
      return reply[1];
    } catch {
      return undefined; // CONFIG may be disabled on managed stores.
    }
  }

  /**
   * Counts the messages not counted before and records the batch's dead-lettered messages, in one
   * round trip. `guardKey` is the replay guard (Source.replayGuardKey); `settled` are ids whose
   * acknowledgement the broker confirmed since the last call (RabbitMQ), which leave the guard.
   */
  async countBatch(
    messages: readonly CountableMessage[],
    deadLettered: number,
    guardKey: string,
    settled: readonly Buffer[] = [],
  ): Promise<BatchResult> {
    const { mode, dedupWindowSeconds, unacknowledgedMaxAgeSeconds } = this.#options;
    const now = Date.now();
    const bucket = Math.floor(now / this.#bucketMs);
    // The current bucket lives until a whole window after it ends.
    const bucketTtl = Math.ceil(((bucket + 1) * this.#bucketMs - now) / 1000) + dedupWindowSeconds;
    const keys: string[] = [...FIXED_KEYS, guardKey];
    for (let b = bucket; b >= bucket - DEDUP_BUCKETS; b--) keys.push(dedupBucketKey(b));
    const kafka = mode === "kafka";
    const args: (string | number | Buffer)[] = [
      mode,
      bucketTtl,
      RECENT_MESSAGES_MAX,
      deadLettered,
      now,
      unacknowledgedMaxAgeSeconds * 1000,
      kafka ? 0 : settled.length,
    ];
    if (!kafka) for (const id of settled) args.push(id);
    for (const m of messages) args.push(m.id, m.country, m.weather, m.latencyField, m.json, m.position);
    try {
      const countBatch = (this.client as unknown as { countBatch: CountBatch }).countBatch.bind(this.client);
      const [counted, duplicates, replays, flags] = await countBatch(keys.length, ...keys, ...args);
      const countedFlags = new Array<boolean>(flags.length);
      for (let i = 0; i < flags.length; i++) countedFlags[i] = flags.charCodeAt(i) === 49; // "1"
      return { counted, duplicates, replays, countedFlags };
    } catch (error) {
      throw storeError(error);
    }
  }

  /** Safe to call twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }
}
