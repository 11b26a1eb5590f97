/** The one way this repository waits, bounds a wait, or gives up on one. */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A bounded step did not finish in time. Retriable: the same step may well succeed later. */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
  readonly retriable = true;
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super(`${what}: no answer within ${timeoutMs} ms`);
  }
}

/**
 * Resolves or rejects as `promise` does, or rejects with a TimeoutError after `ms`.
 * The timer is always cleared, so a finished step leaves nothing behind on the event loop.
 */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Waits for `promise` to settle, for at most `ms`, and never throws: for close and drain
 * steps, where a hung or failed step must not stop the next one from running.
 */
export async function settleWithin(promise: Promise<unknown>, ms: number): Promise<"settled" | "timeout"> {
  try {
    // A rejection counts as settled; only the timer can make this throw.
    await withTimeout(
      promise.catch(() => undefined),
      ms,
      "settle",
    );
    return "settled";
  } catch {
    return "timeout";
  }
}
