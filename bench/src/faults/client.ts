import { sleep } from "@weather/async";

/** The final word on one message id, as the client saw it. */
export interface IdRecord {
  /** Every answer in order: an HTTP status, or 0 for no answer (connection refused, timeout). */
  answers: number[];
  /** True once the API answered 202 for this id. */
  acknowledged: boolean;
  /** When the message was due (performance.now()), and how long its first answer took in ms (Infinity: none). */
  sentAt: number;
  firstAnswerMs: number;
  /** When the 202 came (performance.now()), if it did. */
  acknowledgedAt?: number;
  country: string;
  weather: string;
}

export interface ClientOptions {
  apiUrl: string;
  ratePerS: number;
  durationS: number;
  /** A request without an answer for this long is abandoned and sent again (same id). */
  requestTimeoutMs: number;
  /** Retries of one id stop this long after the load ends; the id then stays unacknowledged. */
  retryForS: number;
  /** Requests in flight at most: beyond that, sends wait (the API may be stopped for seconds). */
  maxInFlight: number;
}

const COUNTRIES = ["USA", "GT", "MX", "CR", "RD", "NZ", "ES", "FR", "DE", "IT", "PT", "BR", "AR"];
const WEATHER = ["Lluvioso", "Nublado", "Soleado"];

/**
 * A client as the API's contract asks it to behave: every message carries its own id, and a 503,
 * an error or a timeout is retried with the SAME id (after Retry-After) until a 202, so that a
 * message is never sent twice under two ids. Open loop at `ratePerS`; every answer of every id
 * is recorded, for the checker to compare with what the stores counted.
 */
export class ChaosClient {
  readonly records = new Map<string, IdRecord>();
  /** When the last message of the load was due (performance.now()). */
  lastDueAt = 0;
  #inFlight = 0;
  #slots: (() => void)[] = [];

  constructor(private readonly options: ClientOptions) {}

  /** Sends for `durationS`, then finishes every id (acknowledged or out of retries). */
  async run(): Promise<void> {
    const { ratePerS, durationS, retryForS } = this.options;
    const total = Math.round(ratePerS * durationS);
    const started = performance.now();
    const retryUntil = started + (durationS + retryForS) * 1000;
    const sending: Promise<void>[] = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / ratePerS;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const id = crypto.randomUUID();
      const record: IdRecord = {
        answers: [],
        acknowledged: false,
        sentAt: performance.now(),
        firstAnswerMs: Number.POSITIVE_INFINITY,
        country: COUNTRIES[i % COUNTRIES.length] as string,
        weather: WEATHER[i % WEATHER.length] as string,
      };
      this.records.set(id, record);
      this.lastDueAt = record.sentAt;
      sending.push(this.#deliver(id, record, i, retryUntil));
    }
    await Promise.all(sending);
  }

  get acknowledged(): string[] {
    return [...this.records].filter(([, r]) => r.acknowledged).map(([id]) => id);
  }

  async #deliver(id: string, record: IdRecord, i: number, retryUntil: number): Promise<void> {
    const body = JSON.stringify({ id, description: `Clima ${i}`, country: record.country, weather: record.weather });
    while (!record.acknowledged && performance.now() < retryUntil) {
      await this.#slot();
      let status = 0;
      let retryAfterS = 0.2;
      try {
        const response = await fetch(`${this.options.apiUrl}/process`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(this.options.requestTimeoutMs),
        });
        status = response.status;
        retryAfterS = Number(response.headers.get("retry-after") ?? retryAfterS) || retryAfterS;
        await response.arrayBuffer();
      } catch {
        // No answer: the API is stopped, restarting or unreachable. The same id goes again.
      } finally {
        this.#release();
      }
      // From when the message was due: waiting for a free slot (the API stalled) counts too.
      if (record.answers.length === 0 && status !== 0) record.firstAnswerMs = performance.now() - record.sentAt;
      record.answers.push(status);
      if (status === 202) {
        record.acknowledged = true;
        record.acknowledgedAt = performance.now();
      } else if (status >= 400 && status < 500)
        return; // a client error is final (none is expected here)
      else await sleep(retryAfterS * 1000 * (0.5 + Math.random()));
    }
  }

  #slot(): Promise<void> {
    if (this.#inFlight < this.options.maxInFlight) {
      this.#inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#slots.push(resolve));
  }

  #release(): void {
    const next = this.#slots.shift();
    if (next) next();
    else this.#inFlight--;
  }
}
