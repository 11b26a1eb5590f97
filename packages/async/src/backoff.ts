import { sleep } from "./time.ts";

export interface BackoffOptions {
  /** Delay before the first retry (ms). */
  initialMs: number;
  /** No delay is ever longer than this (ms). */
  maxMs: number;
  /** Growth per attempt; 2 doubles. */
  factor?: number;
}

/**
 * Capped exponential backoff with "equal jitter": each delay is half the exponential step
 * plus a random part of the other half, so replicas that failed together do not retry in
 * lock-step, and no delay is ever shorter than half its step (no hot retry loop).
 */
export class Backoff {
  #attempt = 0;
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #factor: number;

  constructor(options: BackoffOptions) {
    this.#initialMs = Math.max(1, options.initialMs);
    this.#maxMs = Math.max(this.#initialMs, options.maxMs);
    this.#factor = options.factor ?? 2;
  }

  /** Failures since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The delay before the next try; each call counts one more failure. */
  next(): number {
    const step = Math.min(this.#maxMs, this.#initialMs * this.#factor ** this.#attempt);
    this.#attempt++;
    return Math.round(step / 2 + Math.random() * (step / 2));
  }

  /** After a success: the next failure starts again from `initialMs`. */
  reset(): void {
    this.#attempt = 0;
  }
}

export interface RetryOptions {
  backoff: Backoff;
  /** The error's own verdict: may trying again succeed? */
  retriable: (error: unknown) => boolean;
  /** Checked before each retry: true stops retrying and rethrows the last error. */
  stopped?: () => boolean;
  /** Called before each pause, e.g. to log. */
  onRetry?: (error: unknown, delayMs: number, attempt: number) => void;
}

/** Runs `step` until it succeeds, retrying retriable failures with backoff. */
export async function retry<T>(step: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (;;) {
    try {
      const value = await step();
      options.backoff.reset();
      return value;
    } catch (error) {
      if (!options.retriable(error) || options.stopped?.()) throw error;
      const delay = options.backoff.next();
      options.onRetry?.(error, delay, options.backoff.attempt);
      await sleep(delay);
    }
  }
}
