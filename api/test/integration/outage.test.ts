import { describe, expect, test } from "bun:test";
import { freePort, kafkaBrokers, stack, waitFor } from "../../../test/support/index.ts";
import { post, validMessage } from "../support/app.ts";
import { readQueue, readTopic } from "../support/brokers.ts";
import { cleanupAfterAll, realApp } from "../support/real-app.ts";
import { kafkaAdvertisedPortRewrite, TcpProxy } from "../support/tcp-proxy.ts";

cleanupAfterAll();

const rabbitTarget = new URL(stack.RABBITMQ_URL);
const [kafkaHost, kafkaPort] = (kafkaBrokers()[0] ?? "127.0.0.1:9092").split(":");
const readyz = () => new Request("http://api.test/readyz");

describe.each(["platformatic", "kafkajs"] as const)("broker outage, Kafka client %s", (client) => {
  test("RabbitMQ cut mid-flight: 503 and not ready, then both recover when it is back", async () => {
    const proxy = new TcpProxy({ host: rabbitTarget.hostname, port: Number(rabbitTarget.port || 5672) }).start();
    const url = `${rabbitTarget.protocol}//${rabbitTarget.username}:${rabbitTarget.password}@127.0.0.1:${proxy.port}`;
    const { app, queue, close, rabbitmq } = await realApp(client, {
      RABBITMQ_URL: url,
      BROKER_RECONNECT_MS: "100",
      PUBLISH_TIMEOUT_MS: "2000",
    });
    try {
      expect((await app.handle(post("/process", validMessage))).status).toBe(202);
      expect((await app.handle(readyz())).status).toBe(200);

      proxy.cut();
      await waitFor("the API to notice the outage", () => !rabbitmq.isUp(), { timeoutMs: 5000 });
      const refused = await app.handle(post("/process", validMessage));
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).not.toBeNull();
      const ready = await app.handle(readyz());
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, dependencies: { rabbitmq: "down", kafka: "up" } });

      proxy.start();
      await waitFor("readiness after recovery", async () => (await app.handle(readyz())).status === 200, {
        timeoutMs: 10000,
      });
      const accepted = await app.handle(post("/process", validMessage));
      expect(accepted.status).toBe(202);
      const { id } = (await accepted.json()) as { id: string };
      const messages = await readQueue(queue, 2);
      expect(messages.map((m) => m.messageId)).toContain(id);
    } finally {
      await close();
      proxy.stop();
    }
  }, 60_000);

  test("Kafka cut mid-flight: 503 and not ready, then both recover when it is back", async () => {
    const host = kafkaHost ?? "127.0.0.1";
    const brokerPort = Number(kafkaPort ?? 9092);
    const proxy = new TcpProxy({ host, port: brokerPort }, 0, kafkaAdvertisedPortRewrite(host, brokerPort)).start();
    const { app, topic, close, kafka } = await realApp(client, {
      KAFKA_BROKERS: `${host}:${proxy.port}`,
      BROKER_RECONNECT_MS: "100",
      KAFKA_HEALTH_CHECK_INTERVAL_MS: "200",
      PUBLISH_TIMEOUT_MS: "2000",
    });
    try {
      const first = await app.handle(post("/process", validMessage));
      expect(first.status).toBe(202);
      const { id: before } = (await first.json()) as { id: string };

      proxy.cut();
      const refused = await app.handle(post("/process", validMessage));
      expect(refused.status).toBe(503);
      expect(refused.headers.get("retry-after")).not.toBeNull();
      // RabbitMQ confirmed it: the API itself publishes it to Kafka once Kafka is back.
      const {
        ids: [repaired],
        confirmedBy,
      } = (await refused.json()) as { ids: string[]; confirmedBy: string[] };
      expect(confirmedBy).toEqual(["rabbitmq"]);
      await waitFor("the API to notice the outage", () => !kafka.isUp(), { timeoutMs: 5000 });
      const ready = await app.handle(readyz());
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ ready: false, dependencies: { rabbitmq: "up", kafka: "down" } });

      proxy.start();
      await waitFor("readiness after recovery", async () => (await app.handle(readyz())).status === 200, {
        timeoutMs: 15000,
      });
      const accepted = await app.handle(post("/process", validMessage));
      expect(accepted.status).toBe(202);
      const { id: after } = (await accepted.json()) as { id: string };
      const keys = (await readTopic(topic, 3)).map((m) => m.key);
      expect(keys.sort()).toEqual([before, repaired as string, after].sort());
    } finally {
      await close();
      proxy.stop();
    }
  }, 60_000);

  test("Kafka unreachable at start: 503 and not ready, then both recover when it is back", async () => {
    // The proxy stands in for the bootstrap address: closed first, opened later.
    const port = freePort();
    const proxy = new TcpProxy({ host: kafkaHost ?? "127.0.0.1", port: Number(kafkaPort ?? 9092) }, port);
    const { app, topic, close, rabbitmq, kafka } = await realApp(
      client,
      { KAFKA_BROKERS: `127.0.0.1:${port}`, BROKER_RECONNECT_MS: "100", PUBLISH_TIMEOUT_MS: "2000" },
      { waitUp: false },
    );
    try {
      await waitFor("RabbitMQ connected", () => rabbitmq.isUp(), { timeoutMs: 10000 });
      const refused = await app.handle(post("/process", validMessage));
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { message: string }).message).toContain("kafka");
      const ready = await app.handle(readyz());
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ dependencies: { rabbitmq: "up", kafka: "down" } });

      proxy.start();
      await waitFor("Kafka connected", () => kafka.isUp(), { timeoutMs: 15000 });
      expect((await app.handle(readyz())).status).toBe(200);
      const accepted = await app.handle(post("/process", validMessage));
      expect(accepted.status).toBe(202);
      const { id } = (await accepted.json()) as { id: string };
      expect((await readTopic(topic, 1)).map((m) => m.key)).toEqual([id]);
    } finally {
      await close();
      proxy.stop();
    }
  }, 60_000);
});
