import type { MetricObjectWithValues, MetricValue } from "prom-client";

/**
 * What the processes of one API (API_PROCESSES > 1) say to each other over Bun's IPC channel.
 * Only /metrics needs it: a scrape reaches one process (the kernel spreads connections over the
 * processes listening with SO_REUSEPORT), and must answer for all of them.
 */
export type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** Worker -> primary: a scrape arrived; worker -> primary: its own metrics, as asked. */
export type WorkerMessage =
  | { kind: "scrape"; id: number }
  | { kind: "collected"; id: number /** MetricsJson as JSON text. */; metrics: string }
  | { kind: "collect-failed"; id: number; error: string };

/** Primary -> worker: send your metrics; here is the scrape you asked for (or why it failed). */
export type PrimaryMessage =
  | { kind: "collect"; id: number }
  | { kind: "scraped"; id: number; text: string }
  | { kind: "scrape-failed"; id: number; error: string };

/** Set by the primary on each process it starts: which one it is (1..API_PROCESSES). */
export const WORKER_ENV = "API_WORKER_INDEX";

/** A scrape waits this long for every worker's metrics; an incomplete sum would look like a counter reset. */
export const COLLECT_TIMEOUT_MS = 2000;
