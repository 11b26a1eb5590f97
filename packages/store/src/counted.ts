import type Valkey from "iovalkey";
import { idBytes } from "./layout.ts";

/**
 * Which of `ids` are in the dedup window (counted within the last DEDUP_WINDOW_SECONDS), for
 * checks that count per id: each id found was counted, and total_messages equal to the number
 * of distinct ids found means none was counted twice. One SMISMEMBER per live bucket.
 */
export async function countedIds(client: Valkey, ids: readonly string[]): Promise<Set<string>> {
  const buckets = await dedupBucketKeys(client);
  const found = new Set<string>();
  const members = ids.map(idBytes);
  for (const bucket of buckets) {
    for (let i = 0; i < members.length; i += 10_000) {
      const flags = (await client.call("SMISMEMBER", bucket, ...members.slice(i, i + 10_000))) as number[];
      flags.forEach((flag, j) => {
        if (flag === 1) found.add(ids[i + j] as string);
      });
    }
  }
  return found;
}

/** The dedup window's bucket keys (dedup:<bucket>) in the client's DB: at most DEDUP_BUCKETS + 2 while the window works. */
export async function dedupBucketKeys(client: Valkey): Promise<string[]> {
  const buckets: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, "MATCH", "dedup:[0-9]*", "COUNT", 1000);
    buckets.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return buckets;
}
