import { sleep } from "@weather/async";
import type { PhaseContext } from "./phase.ts";
import { countedNow } from "./sampling.ts";
import { PIPELINES, type PipelineName } from "./stores.ts";

// Store polls while draining: fine enough to time a drain of a few seconds.
const POLL_MS = 100;

export interface Drain {
  /** Seconds from `fromMs` until a store had counted everything accepted (null: never). */
  caughtUpAfterS: Record<PipelineName, number | null>;
  /** Seconds from `fromMs` to the last poll before a store's count first moved (null: never). */
  firstProgressAfterS: Record<PipelineName, number | null>;
}

/** Polls both stores until each has counted `accepted`, or stalls, or the timeout passes. */
export async function waitForDrain(ctx: PhaseContext, accepted: number, fromMs: number): Promise<Drain> {
  const caughtUp: Record<PipelineName, number | null> = { "rabbitmq-valkey": null, "kafka-redis": null };
  const firstProgress: Record<PipelineName, number | null> = { "rabbitmq-valkey": null, "kafka-redis": null };
  const initial = await countedNow(ctx.readers);
  let last = initial;
  // A store's first count happened after the previous poll: taking that poll's time makes
  // a drain rate a lower bound, accurate to one poll interval.
  let previousPollMs = performance.now();
  let lastProgressMs = performance.now();
  const deadline = fromMs + ctx.config.DRAIN_TIMEOUT_S * 1000;
  while (performance.now() < deadline) {
    const counted = await countedNow(ctx.readers);
    const now = performance.now();
    for (const pipeline of PIPELINES) {
      if (firstProgress[pipeline] === null && counted[pipeline] !== initial[pipeline]) {
        firstProgress[pipeline] = (previousPollMs - fromMs) / 1000;
      }
      if (caughtUp[pipeline] === null && counted[pipeline] >= accepted) caughtUp[pipeline] = (now - fromMs) / 1000;
    }
    if (PIPELINES.every((p) => caughtUp[p] !== null)) break;
    if (PIPELINES.some((p) => counted[p] !== last[p])) lastProgressMs = now;
    else if (now - lastProgressMs > ctx.config.DRAIN_STALL_S * 1000) break;
    last = counted;
    previousPollMs = now;
    await sleep(POLL_MS);
  }
  return { caughtUpAfterS: caughtUp, firstProgressAfterS: firstProgress };
}
