import type Valkey from "iovalkey";
import { LATENCY_FIELDS, STORE_KEYS } from "./layout.ts";

/** Everything a dashboard, the demo or a test reads from one store. */
export interface StoreSnapshot {
  total: number;
  countries: Record<string, number>;
  weathers: Record<string, number>;
  /** Same id within the dedup window (client retries, re-publishes). */
  duplicates: number;
  /** Broker replays of messages counted before (redeliveries, offsets replayed). */
  replays: number;
  deadLettered: number;
  /** Non-cumulative counts per latency bucket field ("1" ... "+Inf"). */
  latencyMs: Record<string, number>;
  recent: number;
}

function numbers(hash: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [field, value] of Object.entries(hash)) out[field] = Number(value);
  return out;
}

/** Reads the counters in one pipelined round trip. */
export async function readSnapshot(client: Valkey): Promise<StoreSnapshot> {
  const replies = await client
    .multi()
    .get(STORE_KEYS.totalMessages)
    .hgetall(STORE_KEYS.countryCounts)
    .hgetall(STORE_KEYS.weatherCounts)
    .get(STORE_KEYS.duplicatesTotal)
    .get(STORE_KEYS.deadLetteredTotal)
    .hgetall(STORE_KEYS.e2eLatencyMs)
    .llen(STORE_KEYS.recentMessages)
    .get(STORE_KEYS.replaysTotal)
    .exec();
  if (!replies) throw new Error("store transaction aborted");
  const value = (i: number) => {
    const [error, result] = replies[i] ?? [];
    if (error) throw error;
    return result;
  };
  const latency = numbers(value(5) as Record<string, string>);
  for (const field of LATENCY_FIELDS) latency[field] ??= 0;
  return {
    total: Number(value(0) ?? 0),
    countries: numbers(value(1) as Record<string, string>),
    weathers: numbers(value(2) as Record<string, string>),
    duplicates: Number(value(3) ?? 0),
    deadLettered: Number(value(4) ?? 0),
    latencyMs: latency,
    recent: Number(value(6) ?? 0),
    replays: Number(value(7) ?? 0),
  };
}
