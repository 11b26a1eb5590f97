/** The API with both brokers stubbed in-process (they confirm at once): measures the HTTP, validation and envelope path. */

import { silentLogger } from "@weather/log";
import { createApp } from "../src/app.ts";
import { loadApiConfig } from "../src/config.ts";
import { createRepair } from "../src/ingest/repair.ts";
import { createLifecycle } from "../src/lifecycle.ts";
import { ApiMetrics } from "../src/observability/metrics.ts";
import { FakeBroker } from "../test/support/fake-broker.ts";

const port = Number(process.env.PORT ?? 3902);
const brokers = { rabbitmq: new FakeBroker("rabbitmq", false), kafka: new FakeBroker("kafka", false) };
const metrics = new ApiMetrics({ defaultMetrics: true });
const app = createApp({
  ...brokers,
  repair: createRepair(brokers, loadApiConfig({}), metrics, silentLogger),
  metrics,
  logger: silentLogger,
  lifecycle: createLifecycle(),
  publishTimeoutMs: 5000,
  retryAfterSeconds: 1,
  bodyMaxBytes: 16384,
  batchBodyMaxBytes: 1048576,
  batchMaxMessages: 500,
});
Bun.serve({ port, hostname: "127.0.0.1", fetch: (request) => app.handle(request) });
console.log(`stubbed api listening on ${port}`);
