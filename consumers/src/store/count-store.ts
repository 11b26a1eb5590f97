import { readFileSync } from "node:fs";
import { RECENT_MESSAGES_MAX, STORE_KEYS, seenKey } from "@weather/store";
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
];

/** What the script needs of one valid message. */
export interface CountableMessage {
  id: string;
  country: string;
  weather: string;
  /** Field of e2e_latency_ms (see latencyField). */
  latencyField: string;
  /** The envelope as received, for recent_messages. */
  json: string;
}

export interface BatchResult {
  counted: number;
  duplicates: number;
  /** Per message, in batch order: true if counted now, false if its id had been counted before. */
  countedFlags: boolean[];
}

type CountBatch = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<[number, number, string]>;

export interface CountStoreOptions {
  dedupTtlSeconds: number;
  /** Bound on one round trip; a slower store is treated as unavailable (retriable). */
  commandTimeoutMs?: number;
  connectionName?: string;
}

/**
 * Valkey and Redis speak the same protocol, so one store serves both pipelines.
 * Each batch is one atomic script call: exact counts whatever the broker redelivers.
 */
export class CountStore {
  readonly client: Valkey;
  readonly #ttl: string;
  #closed = false;

  constructor(url: string, options: CountStoreOptions) {
    this.#ttl = String(options.dedupTtlSeconds);
    this.client = new Valkey(url, {
      lazyConnect: true,
      connectionName: options.connectionName,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      // The pipeline retries whole batches itself; a command should fail fast while disconnected.
      maxRetriesPerRequest: 1,
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    this.client.defineCommand("countBatch", { lua: COUNT_BATCH_LUA });
    // Connection errors surface through the failing command; the event would otherwise be unhandled.
    this.client.on("error", () => {});
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  get ready(): boolean {
    return this.client.status === "ready";
  }

  /** The eviction policy; anything but noeviction could silently drop dedup keys or counters. */
  async maxmemoryPolicy(): Promise<string | undefined> {
    try {
      const reply = (await this.client.config("GET", "maxmemory-policy")) as string[];
      return reply[1];
    } catch {
      return undefined; // CONFIG may be disabled on managed stores.
    }
  }

  /** Counts the messages not seen before and records the batch's dead-lettered messages, in one round trip. */
  async countBatch(messages: readonly CountableMessage[], deadLettered = 0): Promise<BatchResult> {
    const keys: string[] = [...FIXED_KEYS];
    const args: (string | number)[] = [this.#ttl, RECENT_MESSAGES_MAX, deadLettered];
    for (const message of messages) {
      keys.push(seenKey(message.id));
      args.push(message.country, message.weather, message.latencyField, message.json);
    }
    try {
      const countBatch = (this.client as unknown as { countBatch: CountBatch }).countBatch.bind(this.client);
      const [counted, duplicates, flags] = await countBatch(keys.length, ...keys, ...args);
      const countedFlags = new Array<boolean>(flags.length);
      for (let i = 0; i < flags.length; i++) countedFlags[i] = flags.charCodeAt(i) === 49; // "1"
      return { counted, duplicates, countedFlags };
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
