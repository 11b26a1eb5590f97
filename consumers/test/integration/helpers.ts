import { metricSum } from "../../../bench/src/metrics.ts";
import {
  freePort,
  KafkaFixture,
  RabbitFixture,
  type SpawnedProcess,
  spawnService,
  stack,
  uniqueName,
} from "../../../test/support/index.ts";

/** Starts `bun consumers/src/main.ts` with its own queue/topic, store DB and port; resolves once /readyz is 200. */
export function spawnConsumer(env: Record<string, string>, port = freePort()): Promise<SpawnedProcess> {
  return spawnService(
    "consumers/src/main.ts",
    { HTTP_PORT: String(port), LOG_LEVEL: process.env.TEST_CONSUMER_LOG_LEVEL ?? "warn", ...env },
    port,
  );
}

/** A consumer's own counter, summed over label sets. */
export async function consumerMetric(consumer: SpawnedProcess, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${consumer.port}/metrics`)).text();
  return metricSum(text, name) ?? 0;
}

export interface PipelineCase {
  name: string;
  kafka: boolean;
  storeUrl: string;
  /** A fresh queue or topic (and group) for one scenario, with the consumer environment that reads it. */
  setup(): { broker: RabbitFixture | KafkaFixture; env: Record<string, string> };
}

/**
 * Both pipelines over the test file's own logical store DB, each scenario on fresh broker names.
 * `kafkaEnv` adds consumer settings for the Kafka case only (e.g. a short session timeout).
 */
export function pipelineCases(db: number, prefix: string, kafkaEnv: Record<string, string> = {}): PipelineCase[] {
  return [
    {
      name: "RabbitMQ -> Valkey",
      kafka: false,
      storeUrl: `${stack.VALKEY_URL}/${db}`,
      setup: () => {
        const queue = uniqueName(`${prefix}-q`);
        return { broker: new RabbitFixture(queue), env: { CONSUMER_SOURCE: "rabbitmq", RABBITMQ_QUEUE: queue } };
      },
    },
    {
      name: "Kafka -> Redis",
      kafka: true,
      storeUrl: `${stack.REDIS_URL}/${db}`,
      setup: () => {
        const topic = uniqueName(`${prefix}-t`);
        return {
          broker: new KafkaFixture(topic),
          env: { CONSUMER_SOURCE: "kafka", KAFKA_TOPIC: topic, KAFKA_GROUP_ID: uniqueName(`${prefix}-g`), ...kafkaEnv },
        };
      },
    },
  ];
}
