import { afterAll } from "bun:test";
import { silentLogger } from "@weather/log";
import { uniqueName, waitFor } from "../../../test/support/index.ts";
import { assembleApi } from "../../src/app.ts";
import { createBrokers } from "../../src/brokers/index.ts";
import { loadApiConfig } from "../../src/config.ts";
import { ApiMetrics } from "../../src/observability/metrics.ts";
import { deleteTestResources } from "./brokers.ts";

/** Registers cleanup in the calling test file. */
export function cleanupAfterAll(): void {
  afterAll(async () => {
    for (const { queue, topic } of created) await deleteTestResources(queue, topic);
    created.length = 0;
  });
}

const created: { queue: string; topic: string }[] = [];

/**
 * The API on the real brokers (or on proxies in front of them) with a queue and a
 * topic of its own, deleted after the file's tests. `waitUp: false` skips waiting
 * for both connections (for outage tests).
 */
export async function realApp(
  client: "platformatic" | "kafkajs",
  env: Record<string, string> = {},
  options: { waitUp?: boolean } = {},
) {
  const queue = uniqueName("api-it");
  const topic = queue;
  created.push({ queue, topic });
  const config = loadApiConfig({
    ...process.env,
    RABBITMQ_QUEUE: queue,
    KAFKA_TOPIC: topic,
    KAFKA_CLIENT: client,
    PUBLISH_TIMEOUT_MS: "5000",
    ...env,
  });
  const metrics = new ApiMetrics();
  const { rabbitmq, kafka } = createBrokers(config, silentLogger, metrics);
  rabbitmq.start();
  kafka.start();
  if (options.waitUp !== false)
    await waitFor("both brokers connected", () => rabbitmq.isUp() && kafka.isUp(), { timeoutMs: 20000 });
  const { handle, repair } = assembleApi(
    { ...config, RETRY_AFTER_SECONDS: 1 },
    { rabbitmq, kafka },
    silentLogger,
    metrics,
  );
  const close = async () => {
    await repair.close(0);
    await Promise.all([rabbitmq.close(), kafka.close()]);
  };
  return { app: { handle }, queue, topic, close, config, rabbitmq, kafka, metrics };
}
