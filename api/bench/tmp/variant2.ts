import { createApp } from "../../src/app.ts";
import { createLifecycle } from "../../src/lifecycle.ts";
import { silentLogger } from "../../src/log.ts";
import { ApiMetrics } from "../../src/observability/metrics.ts";
import { FakeBroker } from "../../test/support/fake-broker.ts";
const app = createApp({
  rabbitmq: new FakeBroker("rabbitmq", false), kafka: new FakeBroker("kafka", false),
  metrics: new ApiMetrics({ defaultMetrics: process.env.DM === "1" }), logger: silentLogger, lifecycle: createLifecycle(),
  publishTimeoutMs: Number(process.env.TO ?? 5000), retryAfterSeconds: 1, bodyMaxBytes: 16384, batchBodyMaxBytes: 1048576, batchMaxMessages: 500,
});
Bun.serve({ port: 3912, hostname: "127.0.0.1", fetch: (r) => app.handle(r) });
