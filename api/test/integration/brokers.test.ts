import { describe, expect, test } from "bun:test";
import { parseEnvelope } from "@weather/schema";
import { post, validMessage } from "../support/app.ts";
import { readQueue, readTopic } from "../support/brokers.ts";
import { cleanupAfterAll, realApp } from "../support/real-app.ts";

cleanupAfterAll();

describe.each(["platformatic", "kafkajs"] as const)("real brokers, Kafka client %s", (client) => {
  test("a posted message arrives on both brokers with the same id and envelope", async () => {
    const { app, queue, topic, close, config } = await realApp(client);
    try {
      const id = crypto.randomUUID();
      const response = await app.handle(post("/process", { ...validMessage, weather: "Nubloso", id }));
      expect(response.status).toBe(202);
      expect(await response.json()).toEqual({ id });

      const [fromQueue] = await readQueue(queue, 1);
      const [fromTopic] = await readTopic(topic, 1);
      expect(fromQueue).toBeDefined();
      expect(fromTopic).toBeDefined();
      expect(fromQueue?.content).toBe(fromTopic?.value as string);
      expect(fromQueue?.messageId).toBe(id);
      expect(fromQueue?.persistent).toBe(true);
      expect(fromTopic?.key).toBe(id);
      const envelope = parseEnvelope(fromQueue?.content ?? "");
      expect(envelope.ok && envelope.value).toMatchObject({ schemaVersion: 1, id, weather: "Nublado", country: "GT" });
      expect(config.KAFKA_TOPIC_PARTITIONS).toBe(3);
    } finally {
      await close();
    }
  }, 60_000);

  test("a batch arrives on both brokers; a retried id lands on the same partition", async () => {
    const { app, queue, topic, close } = await realApp(client);
    try {
      const id = crypto.randomUUID();
      const batch = Array.from({ length: 50 }, (_, i) => ({ ...validMessage, country: `C${i}` }));
      const first = await app.handle(post("/process/batch", [...batch, { ...validMessage, id }]));
      expect(first.status).toBe(202);
      const { ids } = (await first.json()) as { ids: string[] };
      expect(ids).toHaveLength(51);
      const retry = await app.handle(post("/process", { ...validMessage, id }));
      expect(retry.status).toBe(202);

      const fromQueue = await readQueue(queue, 52);
      const fromTopic = await readTopic(topic, 52);
      expect(fromQueue.map((m) => m.messageId).sort()).toEqual([...ids, id].sort());
      expect(fromTopic.map((m) => m.key).sort()).toEqual([...ids, id].sort());
      const partitions = new Set(fromTopic.filter((m) => m.key === id).map((m) => m.partition));
      expect(partitions.size).toBe(1);
      expect(new Set(fromTopic.map((m) => m.partition)).size).toBeGreaterThan(1);
    } finally {
      await close();
    }
  }, 60_000);
});
