import { silentLogger } from "@weather/log";
import { createApp } from "../../src/app.ts";
import { loadApiConfig } from "../../src/config.ts";
import { createRepair } from "../../src/ingest/repair.ts";
import { createLifecycle } from "../../src/lifecycle.ts";
import { ApiMetrics } from "../../src/observability/metrics.ts";
import { FakeBroker } from "./fake-broker.ts";

/** Repair settings of a unit test: retries quickly. */
const REPAIR_DEFAULTS = { ...loadApiConfig({}), BROKER_RECONNECT_MS: 10, BROKER_RECONNECT_MAX_MS: 20 };

export function buildTestApp(
  overrides: {
    publishTimeoutMs?: number;
    keepMessages?: boolean;
    bodyMaxBytes?: number;
    batchBodyMaxBytes?: number;
    batchMaxMessages?: number;
  } = {},
) {
  const rabbitmq = new FakeBroker("rabbitmq", overrides.keepMessages ?? true);
  const kafka = new FakeBroker("kafka", overrides.keepMessages ?? true);
  const metrics = new ApiMetrics();
  const lifecycle = createLifecycle();
  const repair = createRepair({ rabbitmq, kafka }, REPAIR_DEFAULTS, metrics, silentLogger);
  const app = createApp({
    rabbitmq,
    kafka,
    repair,
    metrics,
    logger: silentLogger,
    lifecycle,
    publishTimeoutMs: overrides.publishTimeoutMs ?? 200,
    retryAfterSeconds: 1,
    bodyMaxBytes: overrides.bodyMaxBytes ?? 16384,
    batchBodyMaxBytes: overrides.batchBodyMaxBytes ?? 1048576,
    batchMaxMessages: overrides.batchMaxMessages ?? 500,
  });
  return { app, rabbitmq, kafka, metrics, lifecycle, repair };
}

export function post(path: string, body: unknown, contentType = "application/json"): Request {
  return new Request(`http://api.test${path}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const validMessage = { description: "Está lloviendo", country: "GT", weather: "Lluvioso" };
