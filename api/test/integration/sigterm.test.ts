import { afterAll, expect, test } from "bun:test";
import { Admin, ListOffsetTimestamps } from "@platformatic/kafka";
import amqp from "amqplib";
import { freePort, kafkaBrokers, stack, uniqueName, waitFor } from "../../../test/support/index.ts";
import { loadApiConfig } from "../../src/config.ts";
import { shutdownBudgetMs } from "../../src/server.ts";
import { validMessage } from "../support/app.ts";
import { deleteTestResources, readQueue, readTopic } from "../support/brokers.ts";

const queue = uniqueName("api-it-sigterm");
afterAll(() => deleteTestResources(queue, queue));

/** Messages left in the queue and records in the topic: both 0 once a test has read what it expected. */
async function queueDepth(name: string): Promise<number> {
  const connection = await amqp.connect(stack.RABBITMQ_URL);
  try {
    return (await (await connection.createChannel()).checkQueue(name)).messageCount;
  } finally {
    await connection.close();
  }
}
async function topicRecords(topic: string, partitions: number): Promise<number> {
  const admin = new Admin({ clientId: "api-test-offsets", bootstrapBrokers: kafkaBrokers() });
  try {
    const [listed] = await admin.listOffsets({
      topics: [
        {
          name: topic,
          partitions: Array.from({ length: partitions }, (_, i) => ({
            partitionIndex: i,
            timestamp: ListOffsetTimestamps.LATEST,
          })),
        },
      ],
    });
    return (listed?.partitions ?? []).reduce((sum, p) => sum + Number(p.offset), 0);
  } finally {
    await admin.close();
  }
}

test("SIGTERM: served during SHUTDOWN_DELAY_MS with readiness off, in-flight requests drained, each message once on both brokers, exit 0 within the budget; 413 over the wire", async () => {
  const port = freePort();
  const env = {
    ...process.env,
    API_PORT: String(port),
    API_HOST: "127.0.0.1",
    RABBITMQ_QUEUE: queue,
    KAFKA_TOPIC: queue,
    SHUTDOWN_DELAY_MS: "2000",
    LOG_LEVEL: "warn",
  };
  const config = loadApiConfig(env);
  const api = Bun.spawn([process.execPath, `${import.meta.dir}/../../src/main.ts`], {
    env,
    stdout: "inherit",
    stderr: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      "the API to be ready",
      async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200,
      { timeoutMs: 30000 },
    );
    const send = (body: string) =>
      fetch(`${base}/process`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const accepted: string[] = [];
    const statusOf = async (response: Promise<Response>) => {
      const r = await response;
      if (r.status === 202) accepted.push(((await r.json()) as { id: string }).id);
      return r.status;
    };

    // 16 KiB + 1 byte: valid JSON padded with white space.
    const json = JSON.stringify(validMessage);
    const oversized = json + " ".repeat(16385 - Buffer.byteLength(json));
    expect(Buffer.byteLength(oversized)).toBe(16385);
    expect(await statusOf(send(oversized))).toBe(413);
    expect(await statusOf(send(oversized.slice(0, -1)))).toBe(202);

    // Sent right before the signal: whether each is in flight or done when it arrives, all must be accepted.
    const inFlight = Array.from({ length: 50 }, () => statusOf(send(JSON.stringify(validMessage))));
    const signalledAt = performance.now();
    api.kill("SIGTERM");
    // Readiness turns false at once, so load balancers stop sending...
    await waitFor("/readyz to answer 503", async () => (await fetch(`${base}/readyz`)).status === 503, {
      timeoutMs: 1000,
    });
    // ...while requests that still reach the API during the delay are served as usual.
    const duringDelay = await Promise.all(
      Array.from({ length: 20 }, () => statusOf(send(JSON.stringify(validMessage)))),
    );
    const delayElapsed = performance.now() - signalledAt;
    expect(delayElapsed).toBeLessThan(config.SHUTDOWN_DELAY_MS);
    expect(duringDelay).toEqual(Array(20).fill(202));
    expect(await Promise.all(inFlight)).toEqual(Array(50).fill(202));

    expect(await api.exited).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(shutdownBudgetMs(config));

    // Every accepted message is on both brokers exactly once: none lost, none twice.
    expect(accepted).toHaveLength(71);
    expect(new Set(accepted).size).toBe(71);
    const fromQueue = await readQueue(queue, accepted.length);
    const fromTopic = await readTopic(queue, accepted.length);
    expect(fromQueue.map((m) => m.messageId).sort()).toEqual([...accepted].sort());
    expect(fromTopic.map((m) => m.key).sort()).toEqual([...accepted].sort());
    expect(await queueDepth(queue)).toBe(0);
    expect(await topicRecords(queue, config.KAFKA_TOPIC_PARTITIONS)).toBe(accepted.length);
  } finally {
    if (api.exitCode === null) api.kill("SIGKILL");
  }
}, 60_000);
