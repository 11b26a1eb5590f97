import { withTimeout } from "@weather/async";
import type { Logger } from "@weather/log";
import type { Subprocess } from "bun";
import { AggregatorRegistry } from "prom-client";
import {
  COLLECT_TIMEOUT_MS,
  type MetricsJson,
  type PrimaryMessage,
  WORKER_ENV,
  type WorkerMessage,
} from "./protocol.ts";

export interface PrimaryOptions {
  processes: number;
  /** The API's entry point: each worker runs it with WORKER_ENV set. */
  entry: string;
  /** A worker's own SIGTERM budget (server.ts); past it plus a margin the primary kills what is left. */
  shutdownBudgetMs: number;
  logger: Logger;
}

const KILL_MARGIN_MS = 1000;

/**
 * API_PROCESSES > 1: this process serves nothing itself. It starts that many copies of the API,
 * each listening on the same port with SO_REUSEPORT, answers their /metrics scrapes with the sum of
 * all of them, passes SIGTERM/SIGINT on and exits when they have. A worker that exits by itself
 * stops the others and the primary exits 1: the supervisor (compose, Kubernetes, scripts/lib/supervise.sh)
 * restarts the whole API, as it would a single process.
 */
export function runPrimary(options: PrimaryOptions): void {
  const { logger } = options;
  const workers: Subprocess[] = [];
  let stopping: string | undefined;
  let nextId = 0;
  const pending = new Map<number, { wanted: number; got: MetricsJson[]; done: (error?: string) => void }>();

  const send = (worker: Subprocess, message: PrimaryMessage) => {
    if (!worker.killed && worker.exitCode === null) worker.send(message);
  };

  const scrape = async (from: Subprocess, id: number) => {
    const collectId = nextId++;
    const got: MetricsJson[] = [];
    const collected = new Promise<void>((resolve, reject) => {
      pending.set(collectId, {
        wanted: workers.length,
        got,
        done: (error) => (error ? reject(new Error(error)) : resolve()),
      });
    });
    for (const worker of workers) send(worker, { kind: "collect", id: collectId });
    try {
      await withTimeout(collected, COLLECT_TIMEOUT_MS, "metrics of every API process");
      const text = await AggregatorRegistry.aggregate(got as never).metrics();
      send(from, { kind: "scraped", id, text });
    } catch (error) {
      send(from, { kind: "scrape-failed", id, error: String(error) });
    } finally {
      pending.delete(collectId);
    }
  };

  const onMessage = (message: WorkerMessage, from: Subprocess) => {
    if (message.kind === "scrape") return void scrape(from, message.id);
    const waiting = pending.get(message.id);
    if (!waiting) return;
    if (message.kind === "collect-failed") return waiting.done(message.error);
    waiting.got.push(JSON.parse(message.metrics) as MetricsJson);
    if (waiting.got.length === waiting.wanted) waiting.done();
  };

  const stop = (signal: "SIGTERM" | "SIGINT", reason: string) => {
    if (stopping) return;
    stopping = reason;
    for (const worker of workers) if (worker.exitCode === null) worker.kill(signal);
    setTimeout(() => {
      logger.error("api processes still running after their shutdown budget, killing them");
      for (const worker of workers) if (worker.exitCode === null) worker.kill("SIGKILL");
    }, options.shutdownBudgetMs + KILL_MARGIN_MS).unref();
  };

  for (let index = 1; index <= options.processes; index++) {
    const worker = Bun.spawn([process.execPath, options.entry], {
      env: { ...process.env, [WORKER_ENV]: String(index) },
      stdio: ["ignore", "inherit", "inherit"],
      ipc: (message: WorkerMessage) => onMessage(message, worker),
    });
    workers.push(worker);
    void worker.exited.then((code) => {
      if (!stopping) {
        logger.error("api process exited by itself, stopping the others", { worker: index, code });
        stop("SIGTERM", "worker exited");
      }
    });
  }
  logger.info("api processes started", { processes: options.processes, pids: workers.map((w) => w.pid) });

  // `on`, not `once`: a second signal must not kill the primary while its workers drain (stop() runs once).
  process.on("SIGTERM", () => stop("SIGTERM", "SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT", "SIGINT"));
  void Promise.all(workers.map((w) => w.exited)).then((codes) => {
    const clean = stopping !== "worker exited" && codes.every((code) => code === 0);
    logger.info("api processes stopped", { codes });
    process.exit(clean ? 0 : 1);
  });
}
