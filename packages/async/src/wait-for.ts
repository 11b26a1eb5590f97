import { sleep } from "./time.ts";

export interface WaitForOptions {
  /** Give up after this long (ms). */
  timeoutMs?: number;
  /** Pause between probes (ms). */
  intervalMs?: number;
  /** What to add to the timeout's message: the state that was waited on, for whoever reads the failure. */
  describe?: () => string | Promise<string>;
}

/**
 * Polls `probe` until it returns something other than undefined or false, and returns that.
 * A probe that throws counts as "not yet"; its last error is quoted if the wait times out.
 * Used by tests, the bench and the demo to wait on a condition rather than a fixed sleep.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 100, describe } = options;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      const why = lastError instanceof Error ? `: ${lastError.message}` : lastError ? `: ${String(lastError)}` : "";
      const state = describe ? `; ${await describe()}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}${state}`);
    }
    await sleep(intervalMs);
  }
}
