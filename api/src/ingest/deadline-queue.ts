/**
 * Entries that all share one timeout, kept in arrival order (which is also
 * deadline order). One interval timer, running only while entries wait, expires
 * the overdue ones: cheaper than a setTimeout/clearTimeout pair per request.
 */
export class DeadlineQueue<T extends { deadline: number; settled: boolean }> {
  #entries: T[] = [];
  #head = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #sweepEveryMs: number;

  readonly #onExpired: (entry: T) => void;
  constructor(timeoutMs: number, onExpired: (entry: T) => void) {
    this.#onExpired = onExpired;
    // Precision of a tenth of the timeout, between 5 and 100 ms.
    this.#sweepEveryMs = Math.max(5, Math.min(100, Math.floor(timeoutMs / 10)));
  }

  add(entry: T): void {
    this.#entries.push(entry);
    this.#timer ??= setInterval(() => this.#sweep(), this.#sweepEveryMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    const now = performance.now();
    const entries = this.#entries;
    while (this.#head < entries.length) {
      const entry = entries[this.#head] as T;
      if (!entry.settled) {
        if (entry.deadline > now) break;
        this.#onExpired(entry);
      }
      this.#head++;
    }
    if (this.#head === entries.length) {
      this.#entries = [];
      this.#head = 0;
      this.close();
    } else if (this.#head > 4096 && this.#head * 2 > entries.length) {
      this.#entries = entries.slice(this.#head);
      this.#head = 0;
    }
  }
}
