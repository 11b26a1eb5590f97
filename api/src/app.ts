import type { Logger } from "@weather/log";
import { Elysia } from "elysia";
import type { BrokerName, BrokerPublisher } from "./brokers/types.ts";
import type { ApiConfig } from "./config.ts";
import { ApiError, InternalError, MethodNotAllowedError, NotFoundError } from "./errors.ts";
import { docsController } from "./http/docs.ts";
import { healthController } from "./http/health.ts";
import { metricsController } from "./http/metrics.ts";
import { ingestController } from "./ingest/controller.ts";
import { Ingest } from "./ingest/ingest.ts";
import { createRepair, type PartialPublishRepair } from "./ingest/repair.ts";
import { createLifecycle, type Lifecycle } from "./lifecycle.ts";
import type { ApiMetrics } from "./observability/metrics.ts";

export interface AppOptions {
  rabbitmq: BrokerPublisher;
  kafka: BrokerPublisher;
  /** Publishes again what one broker confirmed and the other did not. */
  repair: PartialPublishRepair;
  metrics: ApiMetrics;
  /** /metrics text; this process's registry unless given (API_PROCESSES > 1: the sum of all of them). */
  renderMetrics?: () => Promise<string>;
  logger: Logger;
  lifecycle: Lifecycle;
  /** The request path's settings, as loaded (api/src/config.ts). */
  settings: Pick<
    ApiConfig,
    "PUBLISH_TIMEOUT_MS" | "RETRY_AFTER_SECONDS" | "BODY_MAX_BYTES" | "BATCH_BODY_MAX_BYTES" | "BATCH_MAX_MESSAGES"
  >;
}

const UNMATCHED_ROUTE = "unmatched";

/** Maps every error to one JSON shape: ApiError subclasses carry their status and code. */
function errorResponse(error: unknown, logger: Logger): Response {
  if (!(error instanceof ApiError)) {
    logger.error("unhandled error", { error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    return errorResponse(new InternalError(), logger);
  }
  return Response.json(error.body(), { status: error.status, headers: error.headers() });
}

/** Builds the API without opening a port: tests call `app.handle(request)`. */
export function createApp(options: AppOptions) {
  const { metrics, logger, lifecycle, settings } = options;
  const ingest = new Ingest({
    rabbitmq: options.rabbitmq,
    kafka: options.kafka,
    publishTimeoutMs: settings.PUBLISH_TIMEOUT_MS,
    retryAfterSeconds: settings.RETRY_AFTER_SECONDS,
    repair: options.repair,
    metrics,
    logger,
  });
  let methodsByPath: Map<string, string[]> | undefined;
  /** An unmatched request to a path that exists with other methods is a 405, not a 404. */
  const unmatched = (method: string, path: string): ApiError => {
    methodsByPath ??= allowedMethods(app.routes);
    const allowed = methodsByPath.get(path);
    return allowed === undefined ? new NotFoundError("No such route") : new MethodNotAllowedError(method, allowed);
  };

  // Elysia's default (standardHostname) looks for the path's "/" from the 12th character of
  // the URL, which assumes a host of 4 characters or more: `Host: api` gave 404. The URL
  // always starts with "http://" here (Bun.serve without TLS), so searching from there is exact.
  const app = new Elysia({ handler: { standardHostname: false } })
    .onError(({ error, code, set, request, path }) => {
      const response = errorResponse(code === "NOT_FOUND" ? unmatched(request.method, path) : error, logger);
      set.status = response.status;
      return response;
    })
    .use(healthController({ lifecycle, brokers: [options.rabbitmq, options.kafka] }))
    .use(metricsController(metrics, options.renderMetrics))
    .use(docsController())
    .use(
      ingestController({
        ingest,
        lifecycle,
        bodyMaxBytes: settings.BODY_MAX_BYTES,
        batchBodyMaxBytes: settings.BATCH_BODY_MAX_BYTES,
        batchMaxMessages: settings.BATCH_MAX_MESSAGES,
        retryAfterSeconds: settings.RETRY_AFTER_SECONDS,
      }),
    );
  return app;
}

/** Path -> the methods it answers (a GET route answers HEAD too). */
function allowedMethods(routes: readonly { method: string; path: string }[]): Map<string, string[]> {
  const byPath = new Map<string, Set<string>>();
  for (const { method, path } of routes) {
    const methods = byPath.get(path) ?? new Set<string>();
    methods.add(method);
    if (method === "GET") methods.add("HEAD");
    byPath.set(path, methods);
  }
  return new Map([...byPath].map(([path, methods]) => [path, [...methods].sort()]));
}

export type App = ReturnType<typeof createApp>;

/**
 * The server's fetch handler: the app, timed and counted per route (api_http_requests_total,
 * api_http_request_duration_seconds). Measured here rather than in Elysia's onRequest and
 * onAfterResponse hooks, which cost a deferred callback and a lookup per request.
 *
 * Bun gives a path-only URL when the Host header is not a valid host name (or absent, in
 * HTTP/1.0); the routes are matched by path whatever the Host, so such a URL gets a neutral
 * origin. Valid hosts (the hot path) pass unchanged.
 */
export function fetchHandler(app: App, metrics: ApiMetrics): (request: Request) => Promise<Response> {
  const routes = new Set(app.routes.map((r) => r.path));
  const routeOf = (url: string): string => {
    const start = url.startsWith("/") ? 0 : url.indexOf("/", url.indexOf("//") + 2);
    const query = url.indexOf("?", start);
    const path = start === -1 ? "/" : url.slice(start, query === -1 ? undefined : query);
    return routes.has(path) ? path : UNMATCHED_ROUTE;
  };
  return (request) => {
    const begin = performance.now();
    metrics.requestStarted();
    const url = request.url;
    return app
      .handle(url.startsWith("/") ? new Request(`http://localhost${url}`, request) : request)
      .then((response) => {
        metrics.requestFinished(routeOf(url), request.method, response.status, (performance.now() - begin) / 1000);
        return response;
      });
  };
}

/**
 * The whole request side of one API process, from its settings and its two brokers: the app, its
 * lifecycle (readiness, draining) and the repair of partial publishes. The server, the benchmark's
 * stubbed server and the tests assemble it the same way.
 */
export function assembleApi(
  config: ApiConfig,
  brokers: Record<BrokerName, BrokerPublisher>,
  logger: Logger,
  metrics: ApiMetrics,
  renderMetrics?: () => Promise<string>,
) {
  const lifecycle = createLifecycle();
  const repair = createRepair(brokers, config, metrics, logger);
  const app = createApp({
    ...brokers,
    repair,
    metrics,
    logger,
    lifecycle,
    settings: config,
    ...(renderMetrics ? { renderMetrics } : {}),
  });
  return { app, lifecycle, repair, handle: fetchHandler(app, metrics) };
}
