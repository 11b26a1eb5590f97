import { DEDUP_BUCKETS } from "./layout.ts";

/**
 * How much memory a store needs: the formula behind every `maxmemory` and memory limit of the
 * project (native .env.example, compose.yaml, k8s/base, GKE), checked against them by
 * test/deploy/store-memory.test.ts. docs/consumers.md ("Store memory") explains each term.
 */

/**
 * used_memory per message id in the dedup window (a 16-byte member of a set), measured on this
 * project's servers by `bun scripts/store/measure-memory.ts` (200,000 ids): Valkey 8.1 45.8 B,
 * Redis 8.0 49.7 B. Rounded up.
 */
export const BYTES_PER_ID = { valkey: 46, redis: 50 } as const;
export type StoreServer = keyof typeof BYTES_PER_ID;

/** The server's own memory, the counters, the recent list and the replay guard, with room to spare (measured: about 2 MB). */
export const BASE_BYTES = 8 * 2 ** 20;

/** maxmemory over the steady state: bursts above the sized rate, and buckets not yet expired. */
export const MAXMEMORY_HEADROOM = 1.5;

/**
 * A container's memory limit over maxmemory: an AOF rewrite forks the server (copy-on-write pages
 * of a busy store), and the allocator's fragmentation and client buffers are not in used_memory.
 */
export const LIMIT_OVER_MAXMEMORY = 1.5;

const MIB = 2 ** 20;
const roundUpMib = (bytes: number) => Math.ceil(bytes / MIB) * MIB;

/** Bytes the dedup window holds at a steady `ratePerS`: ids live between one window and one bucket more. */
export function dedupWindowBytes(ratePerS: number, windowSeconds: number, server: StoreServer): number {
  return ratePerS * windowSeconds * (1 + 1 / DEDUP_BUCKETS) * BYTES_PER_ID[server];
}

/** The least `maxmemory` for a store counting `ratePerS` messages a second with a window of `windowSeconds`. */
export function requiredMaxmemoryBytes(ratePerS: number, windowSeconds: number, server: StoreServer): number {
  return roundUpMib((BASE_BYTES + dedupWindowBytes(ratePerS, windowSeconds, server)) * MAXMEMORY_HEADROOM);
}

/** The least container memory limit for a store with that `maxmemory`. */
export function requiredMemoryLimitBytes(maxmemoryBytes: number): number {
  return roundUpMib(maxmemoryBytes * LIMIT_OVER_MAXMEMORY);
}

/** "512mb", "1gb", "536870912" (redis.conf units) or "512Mi", "1Gi" (Kubernetes quantities) in bytes. */
export function parseMemory(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|k|m|g|ki|mi|gi)?$/i.exec(text.trim());
  if (!match) throw new Error(`not a memory size: "${text}"`);
  const unit = (match[2] ?? "b").toLowerCase();
  const factor: Record<string, number> = {
    b: 1,
    k: 1000,
    m: 1e6,
    g: 1e9,
    kb: 1024,
    mb: MIB,
    gb: 2 ** 30,
    ki: 1024,
    mi: MIB,
    gi: 2 ** 30,
  };
  return Number(match[1]) * (factor[unit] as number);
}

/** The server's used_memory (INFO memory), in bytes. */
export async function usedMemory(client: { info(section: string): Promise<string> }): Promise<number> {
  const match = /used_memory:(\d+)/.exec(await client.info("memory"));
  if (!match) throw new Error("INFO memory without used_memory");
  return Number(match[1]);
}
