import { settleWithin, sleep } from "@weather/async";
import type { Logger } from "@weather/log";
import { assembleApi } from "./app.ts";
import { BROKER_CLOSE_TIMEOUT_MS, createBrokers } from "./brokers/index.ts";
import type { BrokerName, BrokerPublisher } from "./brokers/types.ts";
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
 * publishers (the API benchmark's in-process stubs measure everything but the brokers).
 */
export function startApi(config: ApiConfig, logger: Logger, brokers?: Record<BrokerName, BrokerPublisher>): RunningApi {
  const metrics = new ApiMetrics({ defaultMetrics: true });
  const { rabbitmq, kafka } = brokers ?? createBrokers(config, logger, metrics);
  rabbitmq.start();
  kafka.start();
  const { lifecycle, repair, handle } = assembleApi(config, { rabbitmq, kafka }, logger, metrics);
  const server = Bun.serve({
    port: config.API_PORT,
    hostname: config.API_HOST,
    // No limit of Bun's own: it would answer an empty 413 (and fail the body read of a
    // chunked request). The routes refuse an oversized body with the JSON 413 instead:
    // by Content-Length before reading, or while reading a chunked one (http/body.ts).
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: handle,
  });
  const url = `http://${config.API_HOST === "0.0.0.0" ? "127.0.0.1" : config.API_HOST}:${server.port}`;
  logger.info("api listening", { url, kafkaClient: config.KAFKA_CLIENT });

  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    // Readiness turns false; requests are still served until load balancers have stopped sending them.
    lifecycle.shuttingDown = true;
    if (config.SHUTDOWN_DELAY_MS > 0) await sleep(config.SHUTDOWN_DELAY_MS);
    // Stop listening; requests already received run to completion (their publishes included).
    lifecycle.draining = true;
    const graceEnds = performance.now() + config.SHUTDOWN_GRACE_MS;
    if ((await settleWithin(server.stop(false), config.SHUTDOWN_GRACE_MS)) === "timeout") {
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
