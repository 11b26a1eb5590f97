import { describe, expect, test } from "bun:test";
import { waitFor } from "@weather/async";
import { silentLogger } from "@weather/log";
import { PartialPublishRepair } from "../../src/ingest/repair.ts";
import { ApiMetrics } from "../../src/observability/metrics.ts";
import { buildTestApp, post, validMessage } from "../support/app.ts";
import { FakeBroker } from "../support/fake-broker.ts";

const metricOf = async (metrics: ApiMetrics, name: string) =>
  (await metrics.render()).split("\n").filter((line) => line.startsWith(name));

/** A repair over in-process brokers that retries every few milliseconds. */
function repairFor(limits: { deadlineMs: number; maxMessages: number }) {
  const metrics = new ApiMetrics();
  const kafka = new FakeBroker("kafka");
  const repair = new PartialPublishRepair({
    brokers: { rabbitmq: new FakeBroker("rabbitmq"), kafka },
    ...limits,
    batchSize: 10,
    backoff: { initialMs: 5, maxMs: 10 },
    metrics,
    logger: silentLogger,
  });
  return { metrics, kafka, repair };
}

describe("partial publishes converge without the client", () => {
  test("confirmed by RabbitMQ only: 503 with the id, then published again to Kafka once it takes messages", async () => {
    const { app, rabbitmq, kafka, metrics } = buildTestApp();
    kafka.mode = "fail";
    const id = "0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70";
    const response = await app.handle(post("/process", { ...validMessage, id }));
    expect(response.status).toBe(503);
    expect((await response.json()).ids).toEqual([id]);
    expect(rabbitmq.received.map((m) => m.id)).toEqual([id]);
    kafka.mode = "confirm";
    const repaired = 'api_repaired_messages_total{broker="kafka"} 1';
    await waitFor("repaired", async () => (await metricOf(metrics, repaired)).length === 1, {
      timeoutMs: 2000,
      intervalMs: 5,
    });
    // Kafka's last publish (the one it confirmed) carried the bytes RabbitMQ has: same envelope, same acceptedAt.
    expect(kafka.received.at(-1)?.payload.toString()).toBe(rabbitmq.received[0]?.payload.toString());
    expect(rabbitmq.received).toHaveLength(1);
  });

  test("refused by both brokers: nothing was accepted, nothing to repair", async () => {
    const { app, rabbitmq, kafka, repair } = buildTestApp();
    rabbitmq.mode = "fail";
    kafka.mode = "fail";
    expect((await app.handle(post("/process", validMessage))).status).toBe(503);
    expect(repair.size).toBe(0);
  });

  test("a message not repaired before its deadline is given up and counted", async () => {
    const { metrics, kafka, repair } = repairFor({ deadlineMs: 30, maxMessages: 10 });
    kafka.mode = "fail";
    repair.add("kafka", [{ id: "a", payload: Buffer.from("{}") }]);
    await waitFor("given up", () => repair.size === 0, { timeoutMs: 2000, intervalMs: 5 });
    expect(await metricOf(metrics, 'api_repair_abandoned_messages_total{reason="deadline"}')).toEqual([
      'api_repair_abandoned_messages_total{reason="deadline"} 1',
    ]);
  });

  test("the queue is bounded: beyond REPAIR_MAX_MESSAGES the oldest are given up", async () => {
    const { kafka, repair } = repairFor({ deadlineMs: 60_000, maxMessages: 3 });
    kafka.up = false;
    for (const id of ["a", "b", "c", "d", "e"]) repair.add("kafka", [{ id, payload: Buffer.from(id) }]);
    expect(repair.size).toBe(3);
    kafka.up = true;
    await waitFor("repaired", () => repair.size === 0, { timeoutMs: 2000, intervalMs: 5 });
    expect(kafka.received.map((m) => m.id)).toEqual(["c", "d", "e"]);
    await repair.close(0);
  });
});
