import { settleWithin, sleep } from "@weather/async";
import type { Logger } from "@weather/log";
import { assembleApi } from "./app.ts";
import { BROKER_CLOSE_TIMEOUT_MS, createBrokers } from "./brokers/index.ts";
import type { BrokerName, BrokerPublisher } from "./brokers/types.ts";
import { joinCluster } from "./cluster/worker.ts";
import type { ApiConfig } from "./config.ts";
import { ApiMetrics } from "./observability/metrics.ts";

export interface RunningApi {
  url: string;
  /**
   * Readiness false but still serving for SHUTDOWN_DELAY_MS, then stop listening, finish in-flight
   * requests (up to SHUTDOWN_GRACE_MS), close the brokers. Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Closing the broker clients: they close side by side, each step bounded by BROKER_CLOSE_TIMEOUT_MS;
 * RabbitMQ's is the longer one (wait for confirms, then close the connection).
 */
export const BROKER_CLOSE_BUDGET_MS = 2 * BROKER_CLOSE_TIMEOUT_MS;
/** API_PROCESSES > 1: how often a worker not yet listening checks its brokers. */
const BROKER_POLL_MS = 50;

const urlOf = (host: string, port: number | undefined) => `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`;

/** Exiting once the brokers are closed (timers, log flush). */
export const EXIT_MARGIN_MS = 500;

/**
 * The longest a SIGTERM shutdown may take with these settings: main.ts exits hard after it, and a
 * platform's termination grace period must be at least this long (test/deploy checks the manifests).
 */
export function shutdownBudgetMs(config: Pick<ApiConfig, "SHUTDOWN_DELAY_MS" | "SHUTDOWN_GRACE_MS">): number {
  return config.SHUTDOWN_DELAY_MS + config.SHUTDOWN_GRACE_MS + BROKER_CLOSE_BUDGET_MS + EXIT_MARGIN_MS;
}

/**
 * Starts brokers and the HTTP listener from a parsed config (main.ts). `brokers` replaces the real
 * publishers (the API benchmark's in-process stubs measure everything but the brokers). With
 * API_PROCESSES > 1 this is one of the primary's workers (cluster/primary.ts): it shares the port
 * and answers /metrics for all of them.
 */
export function startApi(config: ApiConfig, logger: Logger, brokers?: Record<BrokerName, BrokerPublisher>): RunningApi {
  const metrics = new ApiMetrics({ defaultMetrics: true });
  const { rabbitmq, kafka } = brokers ?? createBrokers(config, logger, metrics);
  rabbitmq.start();
  kafka.start();
  const clustered = config.API_PROCESSES > 1;
  // Orphaned (the primary was killed): the same shutdown as a SIGTERM (main.ts).
  const renderMetrics = clustered
    ? joinCluster(metrics, logger, () => process.kill(process.pid, "SIGTERM"))
    : undefined;
  const { lifecycle, repair, handle } = assembleApi(config, { rabbitmq, kafka }, logger, metrics, renderMetrics);
  const listen = () => {
    const server = Bun.serve({
      port: config.API_PORT,
      hostname: config.API_HOST,
      reusePort: clustered,
      // No limit of Bun's own: it would answer an empty 413 (and fail the body read of a
      // chunked request). The routes refuse an oversized body with the JSON 413 instead:
      // by Content-Length before reading, or while reading a chunked one (http/body.ts).
      maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      fetch: handle,
    });
    logger.info("api listening", { url: urlOf(config.API_HOST, server.port), kafkaClient: config.KAFKA_CLIENT });
    return server;
  };
  // One process listens at once, and answers /readyz 503 until its brokers are up. Of several, a
  // worker joins the port only once both brokers are up: the kernel spreads connections over every
  // listener whatever its state, so a worker still connecting would answer 503 to its share.
  let server: ReturnType<typeof listen> | undefined;
  let waitingForBrokers: ReturnType<typeof setInterval> | undefined;
  if (!clustered) server = listen();
  else {
    waitingForBrokers = setInterval(() => {
      if (!rabbitmq.isUp() || !kafka.isUp()) return;
      clearInterval(waitingForBrokers);
      server = listen();
    }, BROKER_POLL_MS);
  }
  const url = urlOf(config.API_HOST, server?.port ?? config.API_PORT);

  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    // Readiness turns false; requests are still served until load balancers have stopped sending them.
    lifecycle.shuttingDown = true;
    clearInterval(waitingForBrokers);
    if (config.SHUTDOWN_DELAY_MS > 0) await sleep(config.SHUTDOWN_DELAY_MS);
    // Stop listening; requests already received run to completion (their publishes included).
    lifecycle.draining = true;
    const graceEnds = performance.now() + config.SHUTDOWN_GRACE_MS;
    if (server && (await settleWithin(server.stop(false), config.SHUTDOWN_GRACE_MS)) === "timeout") {
      logger.warn("shutdown: in-flight requests still running after grace period, closing anyway");
      void server.stop(true);
    }
    // Partial publishes still waiting get what is left of the grace period, then are logged by id.
    await repair.close(Math.max(0, graceEnds - performance.now()));
    const results = await Promise.allSettled([rabbitmq.close(), kafka.close()]);
    for (const result of results) {
      if (result.status === "rejected") logger.warn("shutdown: close failed", { error: String(result.reason) });
    }
    logger.info("api stopped");
  };
  return {
    url,
    close: () => {
      closing ??= shutdown();
      return closing;
    },
  };
}
