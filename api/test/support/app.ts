import { silentLogger } from "@weather/log";
import { assembleApi } from "../../src/app.ts";
import { loadApiConfig } from "../../src/config.ts";
import { ApiMetrics } from "../../src/observability/metrics.ts";
import { FakeBroker } from "./fake-broker.ts";

/**
 * The API on in-process brokers, with the default settings except `settings` (variable names and
 * values as in the environment). Publishes time out after 200 ms and repairs retry quickly.
 */
export function buildTestApp(options: { settings?: Record<string, string>; keepMessages?: boolean } = {}) {
  const config = loadApiConfig({
    PUBLISH_TIMEOUT_MS: "200",
    BROKER_RECONNECT_MS: "10",
    BROKER_RECONNECT_MAX_MS: "20",
    ...options.settings,
  });
  const rabbitmq = new FakeBroker("rabbitmq", options.keepMessages ?? true);
  const kafka = new FakeBroker("kafka", options.keepMessages ?? true);
  const metrics = new ApiMetrics();
  const assembled = assembleApi(config, { rabbitmq, kafka }, silentLogger, metrics);
  // Tests drive the server's own handler, so they see the request metrics it records.
  return { ...assembled, app: { handle: assembled.handle }, rabbitmq, kafka, metrics };
}

export function post(path: string, body: unknown, contentType = "application/json"): Request {
  return new Request(`http://api.test${path}`, {
    method: "POST",
    headers: { "content-type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export const validMessage = { description: "Está lloviendo", country: "GT", weather: "Lluvioso" };
