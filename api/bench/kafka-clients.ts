/**
 * Measures the two Kafka clients behind the API's producer interface, against the
 * real broker, in one run: the same batching publisher, the same envelopes, the
 * same concurrency. Prints messages/s and per-publish latency percentiles.
 *
 *   bun api/bench/kafka-clients.ts [messages=20000] [concurrency=200] [rounds=2]
 */
import { Admin } from "@platformatic/kafka";
import { waitFor } from "@weather/async";
import { silentLogger } from "@weather/log";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import { percentile } from "../../bench/src/stats.ts";
import { createKafkaProducer, type KafkaClientName } from "../src/brokers/kafka/index.ts";
import { KafkaPublisher } from "../src/brokers/kafka/publisher.ts";

const [messages = 20000, concurrency = 200, rounds = 2] = process.argv.slice(2).map(Number);
const brokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
const topic = `api-bench-kafka-${process.pid}-${Date.now().toString(36)}`;

async function measure(client: KafkaClientName) {
  const publisher = new KafkaPublisher({
    producer: createKafkaProducer(client, {
      clientId: `bench-${client}`,
      brokers,
      topic,
      partitions: 3,
      replicationFactor: 1,
      requestTimeoutMs: 10000,
    }),
    lingerMs: 2,
    batchMaxMessages: 100,
    reconnect: { initialMs: 200, maxMs: 1000 },
    healthCheckIntervalMs: 60000,
    closeTimeoutMs: 2000,
    logger: silentLogger,
  });
  publisher.start();
  await waitFor("the producer connected", () => publisher.isUp(), { intervalMs: 20 });
  const payloads = Array.from({ length: 1000 }, (_, i) =>
    encodeEnvelope(createEnvelope({ description: `Clima en GT ${i}`, country: "GT", weather: "Soleado" })),
  );
  // Warm-up: connections, metadata, producer id.
  await publisher.publish([{ id: crypto.randomUUID(), payload: Buffer.from(payloads[0] as string) }]);

  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < messages) {
      const i = next++;
      const t = performance.now();
      await publisher.publish([{ id: Bun.randomUUIDv7(), payload: Buffer.from(payloads[i % 1000] as string) }]);
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  await publisher.close();
  latencies.sort((a, b) => a - b);
  return {
    client,
    "msg/s": Math.round(messages / seconds),
    "p50 ms": (percentile(latencies, 50) ?? Number.NaN).toFixed(2),
    "p99 ms": (percentile(latencies, 99) ?? Number.NaN).toFixed(2),
    "max ms": (latencies.at(-1) ?? 0).toFixed(2),
  };
}

const admin = new Admin({ clientId: "api-bench", bootstrapBrokers: brokers });
try {
  await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
  const results = [];
  for (let round = 1; round <= rounds; round++) {
    // Alternate the order so neither client always runs on a warmer broker.
    const order: KafkaClientName[] = round % 2 === 1 ? ["platformatic", "kafkajs"] : ["kafkajs", "platformatic"];
    for (const client of order) results.push({ round, ...(await measure(client)) });
  }
  console.log(
    `Kafka clients on Bun ${Bun.version}: ${messages} messages, ${concurrency} concurrent publishers, acks=all, idempotent, linger 2 ms / 100 messages`,
  );
  console.table(results);
} finally {
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.close();
}
