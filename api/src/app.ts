import type { Logger } from "@weather/log";
import { Elysia } from "elysia";
import type { BrokerPublisher } from "./brokers/types.ts";
import { ApiError, NotFoundError } from "./errors.ts";
import { docsController } from "./http/docs.ts";
import { healthController } from "./http/health.ts";
import { metricsController } from "./http/metrics.ts";
import { ingestController } from "./ingest/controller.ts";
import { Ingest } from "./ingest/ingest.ts";
import type { PartialPublishRepair } from "./ingest/repair.ts";
import type { Lifecycle } from "./lifecycle.ts";
import type { ApiMetrics } from "./observability/metrics.ts";

export interface AppOptions {
  rabbitmq: BrokerPublisher;
  kafka: BrokerPublisher;
  /** Publishes again what one broker confirmed and the other did not. */
  repair: PartialPublishRepair;
  metrics: ApiMetrics;
  logger: Logger;
  lifecycle: Lifecycle;
  publishTimeoutMs: number;
  retryAfterSeconds: number;
  bodyMaxBytes: number;
  batchBodyMaxBytes: number;
  batchMaxMessages: number;
  version?: string;
}

const UNMATCHED_ROUTE = "unmatched";

/** Maps every error to one JSON shape: ApiError subclasses carry their status and code. */
function errorResponse(error: unknown, elysiaCode: unknown, logger: Logger): Response {
  if (error instanceof ApiError) {
    return Response.json(error.body(), { status: error.status, headers: error.headers() });
  }
  if (elysiaCode === "NOT_FOUND") return errorResponse(new NotFoundError("No such route"), undefined, logger);
  if (elysiaCode === "PARSE" || elysiaCode === "VALIDATION") {
    const message = error instanceof Error ? error.message : String(error);
    return Response.json({ error: "bad_request", message, retriable: false }, { status: 400 });
  }
  logger.error("unhandled error", { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  return Response.json({ error: "internal", message: "Internal error", retriable: true }, { status: 500 });
}

/** Builds the API without opening a port: tests call `app.handle(request)`. */
export function createApp(options: AppOptions) {
  const { metrics, logger, lifecycle } = options;
  const ingest = new Ingest({
    rabbitmq: options.rabbitmq,
    kafka: options.kafka,
    publishTimeoutMs: options.publishTimeoutMs,
    retryAfterSeconds: options.retryAfterSeconds,
    repair: options.repair,
    metrics,
    logger,
  });
  const started = new WeakMap<Request, number>();

  return new Elysia()
    .onRequest(({ request }) => {
      started.set(request, performance.now());
      metrics.requestStarted();
    })
    .onAfterResponse(({ request, route, set }) => {
      const begin = started.get(request);
      const status = typeof set.status === "number" ? set.status : 200;
      const seconds = begin === undefined ? 0 : (performance.now() - begin) / 1000;
      metrics.requestFinished(route || UNMATCHED_ROUTE, request.method, status, seconds);
    })
    .onError(({ error, code, set }) => {
      const response = errorResponse(error, code, logger);
      set.status = response.status;
      return response;
    })
    .use(healthController({ lifecycle, brokers: [options.rabbitmq, options.kafka] }))
    .use(metricsController(metrics))
    .use(docsController(options.version ?? "1.0.0"))
    .use(
      ingestController({
        ingest,
        lifecycle,
        bodyMaxBytes: options.bodyMaxBytes,
        batchBodyMaxBytes: options.batchBodyMaxBytes,
        batchMaxMessages: options.batchMaxMessages,
        retryAfterSeconds: options.retryAfterSeconds,
      }),
    );
}

export type App = ReturnType<typeof createApp>;
