import type Valkey from "iovalkey";
import { STATE_KEY_PATTERNS, STORE_KEYS } from "./layout.ts";

/**
 * Removes every key of the store layout from the client's DB, and nothing else: for a test or
 * bench phase that needs its counts to be exactly its own. SCAN + UNLINK, so a DB holding
 * large dedup sets is cleared without blocking the server.
 */
export async function resetStore(client: Valkey): Promise<void> {
  await client.unlink(...Object.values(STORE_KEYS));
  await forgetDedupState(client);
}

/**
 * Removes the state that grows with traffic (dedup buckets, replay guards: STATE_KEY_PATTERNS) and
 * keeps the counters: for a bench phase that is over, whose figures stay readable but whose
 * window of ids would otherwise hold memory for a whole window after it.
 */
export async function forgetDedupState(client: Valkey): Promise<void> {
  for (const pattern of STATE_KEY_PATTERNS) {
    let cursor = "0";
    do {
      const [next, keys] = await client.scan(cursor, "MATCH", pattern, "COUNT", 5000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
}
