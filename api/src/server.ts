import type { Logger } from "@weather/log";
import { createApp, fetchHandler } from "./app.ts";
import { createBrokers } from "./brokers/index.ts";
import type { ApiConfig } from "./config.ts";
import { createLifecycle } from "./lifecycle.ts";
import { ApiMetrics } from "./observability/metrics.ts";

export interface RunningApi {
  url: string;
  /** Readiness false, stop accepting, finish in-flight requests, close brokers. Safe to call twice. */
  close(): Promise<void>;
}

/** Starts brokers and the HTTP listener from a parsed config (used by main.ts and the integration tests). */
export function startApi(config: ApiConfig, logger: Logger): RunningApi {
  const metrics = new ApiMetrics({ defaultMetrics: true });
  const lifecycle = createLifecycle();
  const { rabbitmq, kafka } = createBrokers(config, logger, metrics);
  rabbitmq.start();
  kafka.start();
  const app = createApp({
    rabbitmq,
    kafka,
    metrics,
    logger,
    lifecycle,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    bodyMaxBytes: config.BODY_MAX_BYTES,
    batchBodyMaxBytes: config.BATCH_BODY_MAX_BYTES,
    batchMaxMessages: config.BATCH_MAX_MESSAGES,
  });
  const server = Bun.serve({
    port: config.API_PORT,
    hostname: config.API_HOST,
    // No limit of Bun's own: it would answer an empty 413 (and fail the body read of a
    // chunked request). The routes refuse an oversized body with the JSON 413 instead:
    // by Content-Length before reading, or while reading a chunked one (http/body.ts).
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    fetch: fetchHandler(app),
  });
  const url = `http://${config.API_HOST === "0.0.0.0" ? "127.0.0.1" : config.API_HOST}:${server.port}`;
  logger.info("api listening", { url, kafkaClient: config.KAFKA_CLIENT });

  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    lifecycle.shuttingDown = true;
    if (config.SHUTDOWN_DELAY_MS > 0) await Bun.sleep(config.SHUTDOWN_DELAY_MS);
    // Stop listening; requests already received run to completion (their publishes included).
    const drained = server.stop(false);
    const grace = Bun.sleep(config.SHUTDOWN_GRACE_MS).then(() => "timeout" as const);
    if ((await Promise.race([drained.then(() => "drained" as const), grace])) === "timeout") {
      logger.warn("shutdown: in-flight requests still running after grace period, closing anyway");
      void server.stop(true);
    }
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
