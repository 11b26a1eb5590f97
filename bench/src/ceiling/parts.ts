import { waitFor } from "@weather/async";
import { silentLogger } from "@weather/log";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import { idBytes, kafkaOffsetsKey, latencyField, STORE_KEYS } from "@weather/store";
import { createBrokers } from "../../../api/src/brokers/index.ts";
import type { OutboundMessage } from "../../../api/src/brokers/types.ts";
import { loadApiConfig } from "../../../api/src/config.ts";
import { ApiMetrics } from "../../../api/src/observability/metrics.ts";
import { loadConsumerConfig } from "../../../consumers/src/config.ts";
import { ConsumerService } from "../../../consumers/src/service.ts";
import type { Delivery } from "../../../consumers/src/sources/source.ts";
import type { CountableMessage } from "../../../consumers/src/store/count-store.ts";
import { prepareMessages } from "../load/messages.ts";
import type { PhaseContext } from "../phase.ts";

export type Broker = "rabbitmq" | "kafka";

/**
 * A part's settings: the environment (as the bench's API and consumers get it), the bench's
 * servers, and a queue, topic and group of the part's own.
 */
export function partEnv(ctx: PhaseContext, name: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...(process.env as Record<string, string>),
    RABBITMQ_URL: ctx.config.RABBITMQ_URL,
    KAFKA_BROKERS: ctx.config.KAFKA_BROKERS,
    RABBITMQ_QUEUE: name,
    KAFKA_TOPIC: name,
    KAFKA_TOPIC_PARTITIONS: String(ctx.config.BENCH_KAFKA_PARTITIONS),
    KAFKA_GROUP_ID: name,
    KAFKA_CLIENT_ID: name,
    LOG_LEVEL: "warn",
    ...extra,
  };
}

type Message = Parameters<typeof createEnvelope>[0];

/** Encoded envelopes, as the API publishes them (a fresh id each), with their country and weather. */
function envelopes(): () => OutboundMessage & { country: string; weather: string } {
  const bodies = prepareMessages(256).map((m) => JSON.parse(m.body) as Message);
  let i = 0;
  return () => {
    const envelope = createEnvelope(bodies[i++ % bodies.length] as Message);
    const payload = Buffer.from(encodeEnvelope(envelope));
    return { id: envelope.id, payload, country: envelope.country, weather: envelope.weather };
  };
}

export interface Throughput {
  messages: number;
  seconds: number;
}

/**
 * Publishes with the API's own publisher (RabbitMQ: persistent, publisher confirms; Kafka: acks=all,
 * idempotent, the API's linger and batching), keeping `concurrency` single-message publishes in
 * flight for `durationS`, and counts what the broker confirmed. Time: first send to last confirm.
 */
export async function publishAlone(
  broker: Broker,
  env: Record<string, string>,
  durationS: number,
  concurrency: number,
): Promise<Throughput> {
  const publishers = createBrokers(loadApiConfig(env), silentLogger, new ApiMetrics());
  const publisher = publishers[broker];
  publisher.start();
  try {
    await waitFor(`${broker} publisher connected`, () => publisher.isUp(), { timeoutMs: 30_000 });
    const next = envelopes();
    let confirmed = 0;
    const started = performance.now();
    const until = started + durationS * 1000;
    const lane = async () => {
      while (performance.now() < until) {
        await publisher.publish([next()]);
        confirmed++;
      }
    };
    await Promise.all(Array.from({ length: concurrency }, lane));
    return { messages: confirmed, seconds: (performance.now() - started) / 1000 };
  } finally {
    await publisher.close();
  }
}

/**
 * Consumes `expected` messages with the consumers' own source (the replica's settings: prefetch,
 * fetch size, group) and acknowledges (RabbitMQ) or commits (Kafka) them in batches of
 * BATCH_MAX_SIZE, as the counting core does (not waiting for one confirmation before the next
 * batch), with no store. Time: first delivery to the last confirmed acknowledgement (connecting and
 * joining the group excluded).
 */
export async function consumeAlone(
  broker: Broker,
  env: Record<string, string>,
  expected: number,
  timeoutS: number,
): Promise<Throughput> {
  const config = loadConsumerConfig({ ...env, CONSUMER_SOURCE: broker });
  const service = new ConsumerService(config, silentLogger);
  const { source } = service;
  const waiting: Delivery[] = [];
  let firstMs: number | undefined;
  let lost: Error | undefined;
  try {
    await source.open(
      (delivery) => {
        firstMs ??= performance.now();
        waiting.push(delivery);
      },
      (error) => {
        lost = error;
      },
    );
    let acked = 0;
    // As the counting core does, the next batch does not wait for the broker to confirm the last one.
    const acknowledge = (batch: Delivery[]) =>
      source.ack(batch).then(
        (settled) => {
          acked += settled.length;
        },
        (error: Error) => {
          lost ??= error;
        },
      );
    await waitFor(
      `${expected} messages consumed from ${broker}`,
      () => {
        if (lost) throw lost;
        while (waiting.length > 0) void acknowledge(waiting.splice(0, config.BATCH_MAX_SIZE));
        return acked >= expected;
      },
      { timeoutMs: timeoutS * 1000, intervalMs: 1 },
    );
    return { messages: acked, seconds: (performance.now() - (firstMs ?? performance.now())) / 1000 };
  } finally {
    await source.close();
    service.store.client.disconnect();
  }
}

/**
 * Counts fresh messages with the consumers' own store client and count script (CountStore, the
 * replica's settings), `batchSize` per script call, one call at a time on each of `lanes`
 * connections (as `lanes` replicas would), for `durationS`. RabbitMQ mode passes the previous
 * batch's ids as acknowledged, as the counting core does; Kafka mode gives each lane a partition
 * of its own with rising offsets. Time: first call to last reply.
 */
export async function countAlone(
  mode: Broker,
  env: Record<string, string>,
  batchSize: number,
  durationS: number,
  lanes: number,
): Promise<Throughput> {
  const services = Array.from(
    { length: lanes },
    () => new ConsumerService(loadConsumerConfig({ ...env, CONSUMER_SOURCE: mode }), silentLogger),
  );
  try {
    for (const { store } of services) store.connect();
    await waitFor("store connected", () => services.every(({ store }) => store.ready), { timeoutMs: 30_000 });
    const next = envelopes();
    let counted = 0;
    const started = performance.now();
    const until = started + durationS * 1000;
    const guardKey =
      mode === "rabbitmq" ? STORE_KEYS.unacknowledged : kafkaOffsetsKey(env.KAFKA_TOPIC ?? "", "ceiling");
    const lane = async ({ store }: ConsumerService, partition: number) => {
      let offset = 0;
      let settled: Buffer[] = [];
      while (performance.now() < until) {
        const batch = Array.from({ length: batchSize }, (): CountableMessage => {
          const { id, payload, country, weather } = next();
          const position = mode === "rabbitmq" ? "0" : `${partition}:${offset++}`;
          return {
            id: idBytes(id),
            country,
            weather,
            latencyField: latencyField(1),
            json: payload.toString(),
            position,
          };
        });
        // Awaited first: `counted += await ...` would read `counted` before another lane added to it.
        const result = await store.countBatch(batch, 0, guardKey, settled);
        counted += result.counted;
        if (mode === "rabbitmq") settled = batch.map((m) => m.id);
      }
    };
    await Promise.all(services.map(lane));
    return { messages: counted, seconds: (performance.now() - started) / 1000 };
  } finally {
    await Promise.all(services.map(({ store }) => store.close()));
  }
}
