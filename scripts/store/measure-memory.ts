/**
 * Measures used_memory per message id in the dedup window on the native Valkey and Redis: counts
 * N fresh ids (default 200,000) in DB 8 of each, in batches of 500, and divides the growth by N.
 * The figures feed BYTES_PER_ID in packages/store/src/sizing.ts.   bun scripts/store/measure-memory.ts [N]
 */

import { loadStackConfig } from "@weather/config";
import { idBytes, latencyField, resetStore, usedMemory } from "@weather/store";
import Valkey from "iovalkey";
import { CountStore } from "../../consumers/src/store/count-store.ts";

const N = Number(process.argv[2] ?? 200000);
const stack = loadStackConfig();
for (const [name, base] of [
  ["valkey", stack.VALKEY_URL],
  ["redis", stack.REDIS_URL],
] as const) {
  const url = `${base}/8`;
  const inspect = new Valkey(url);
  await resetStore(inspect);
  const store = new CountStore(url, {
    mode: "kafka",
    dedupWindowSeconds: 3600,
    unacknowledgedMaxAgeSeconds: 3600,
    commandTimeoutMs: 10000,
    reconnect: { initialMs: 100, maxMs: 1000 },
  });
  store.connect();
  const before = await usedMemory(inspect);
  const json = JSON.stringify({
    schemaVersion: 1,
    id: crypto.randomUUID(),
    acceptedAt: Date.now(),
    description: "Clima en GT 12",
    country: "GT",
    weather: "Soleado",
  });
  for (let i = 0; i < N; i += 500) {
    const batch = Array.from({ length: 500 }, (_, j) => ({
      id: idBytes(crypto.randomUUID()),
      country: "GT",
      weather: "Soleado",
      latencyField: latencyField(5),
      json,
      position: `0:${i + j}`,
    }));
    await store.countBatch(batch, 0, "offsets:m:x");
  }
  const after = await usedMemory(inspect);
  const sets = await inspect.keys("dedup:[0-9]*");
  console.log(
    name,
    "ids",
    N,
    "bytes/id",
    ((after - before) / N).toFixed(1),
    "buckets",
    sets.length,
    "before",
    before,
    "after",
    after,
  );
  await resetStore(inspect);
  await store.close();
  inspect.disconnect();
}
