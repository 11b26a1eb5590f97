import { silentLogger } from "@weather/log";
import { createApp } from "../../src/app.ts";
import { createLifecycle } from "../../src/lifecycle.ts";
import { ApiMetrics } from "../../src/observability/metrics.ts";
import { FakeBroker } from "./fake-broker.ts";

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
  const app = createApp({
    rabbitmq,
    kafka,
    metrics,
    logger: silentLogger,
    lifecycle,
    publishTimeoutMs: overrides.publishTimeoutMs ?? 200,
    retryAfterSeconds: 1,
    bodyMaxBytes: overrides.bodyMaxBytes ?? 16384,
    batchBodyMaxBytes: overrides.batchBodyMaxBytes ?? 1048576,
    batchMaxMessages: overrides.batchMaxMessages ?? 500,
  });
  return { app, rabbitmq, kafka, metrics, lifecycle };
}

export function post(path: string, body: unknown, contentType = "application/json"): Request {
  return new Request(`http://api.test${path}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const validMessage = { description: "Está lloviendo", country: "GT", weather: "Lluvioso" };
