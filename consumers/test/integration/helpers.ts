import { Admin, Consumer, Producer } from "@platformatic/kafka";
import { createEnvelope, deadLetterName, type Envelope, rabbitmqQueueArguments, WEATHER_VALUES } from "@weather/schema";
import { readSnapshot, STORE_KEYS, type StoreSnapshot } from "@weather/store";
import amqp from "amqplib";
import Valkey from "iovalkey";

export const ROOT = new URL("../../../", import.meta.url).pathname;
export const RABBITMQ_URL = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";
export const KAFKA_BROKERS = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");
export const VALKEY_URL = process.env.VALKEY_URL ?? "redis://127.0.0.1:6380";
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
/** The original lab's country list. */
export const COUNTRIES = ["USA", "GT", "MX", "CR", "RD", "NZ", "ES", "FR", "DE", "IT", "PT", "BR", "AR"];

export const unique = (prefix: string) =>
  `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Base port for consumers spawned by tests, away from the dev stack's 3101+/3201+. */
let nextPort = 3900 + Math.floor(Math.random() * 50) * 10;
export const freePort = () => nextPort++;

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ""}`);
    await sleep(100);
  }
}

export function makeEnvelopes(count: number): Envelope[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => {
    const country = COUNTRIES[i % COUNTRIES.length] as string;
    const weather = WEATHER_VALUES[i % WEATHER_VALUES.length] as string;
    return createEnvelope({ description: `Clima en ${country} ${(i % 100) + 1}`, country, weather }, now);
  });
}

export function expectedCounts(envelopes: readonly { country: string; weather: string }[]) {
  const countries: Record<string, number> = {};
  const weathers: Record<string, number> = {};
  for (const e of envelopes) {
    countries[e.country] = (countries[e.country] ?? 0) + 1;
    weathers[e.weather] = (weathers[e.weather] ?? 0) + 1;
  }
  return { countries, weathers };
}

// ---------- stores ----------

/** A store client on a logical DB of its own; clear() removes only the layout keys and seen:* there. */
export class TestStore {
  readonly client: Valkey;
  constructor(readonly url: string) {
    this.client = new Valkey(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
  }
  snapshot(): Promise<StoreSnapshot> {
    return readSnapshot(this.client);
  }
  async clear(): Promise<void> {
    await this.client.del(...Object.values(STORE_KEYS));
    let cursor = "0";
    do {
      const [next, keys] = await this.client.scan(cursor, "MATCH", "seen:*", "COUNT", 1000);
      if (keys.length > 0) await this.client.unlink(...keys);
      cursor = next;
    } while (cursor !== "0");
  }
  async close(): Promise<void> {
    await this.clear().catch(() => {});
    await this.client.quit().catch(() => {});
  }
}

// ---------- brokers ----------

export class RabbitFixture {
  #connection: amqp.ChannelModel | undefined;
  #channel: amqp.ConfirmChannel | undefined;
  constructor(readonly queue: string) {}

  async open(): Promise<void> {
    this.#connection = await amqp.connect(RABBITMQ_URL);
    this.#channel = await this.#connection.createConfirmChannel();
    await this.#channel.assertQueue(deadLetterName(this.queue), { durable: true });
    await this.#channel.assertQueue(this.queue, { durable: true, arguments: rabbitmqQueueArguments(this.queue) });
  }

  /** Publishes persistent messages with confirms, like the API does. */
  async publish(payloads: readonly string[]): Promise<void> {
    const channel = this.#channel as amqp.ConfirmChannel;
    for (let i = 0; i < payloads.length; i += 500) {
      for (const payload of payloads.slice(i, i + 500)) {
        channel.sendToQueue(this.queue, Buffer.from(payload), { persistent: true, contentType: "application/json" });
      }
      await channel.waitForConfirms();
    }
  }

  /** Reads (and acknowledges) everything in the dead-letter queue. */
  async drainDeadLetters(): Promise<amqp.GetMessage[]> {
    const channel = this.#channel as amqp.ConfirmChannel;
    const out: amqp.GetMessage[] = [];
    for (;;) {
      const message = await channel.get(deadLetterName(this.queue), { noAck: true });
      if (message === false) return out;
      out.push(message);
    }
  }

  async depth(): Promise<number> {
    return (await (this.#channel as amqp.ConfirmChannel).checkQueue(this.queue)).messageCount;
  }

  /** Deletes the queues this test created. */
  async close(): Promise<void> {
    const channel = this.#channel;
    if (channel) {
      await channel.deleteQueue(this.queue).catch(() => {});
      await channel.deleteQueue(deadLetterName(this.queue)).catch(() => {});
    }
    await this.#connection?.close().catch(() => {});
  }
}

export class KafkaFixture {
  readonly admin = new Admin({ clientId: "consumer-tests-admin", bootstrapBrokers: KAFKA_BROKERS });
  readonly producer = new Producer({ clientId: "consumer-tests", bootstrapBrokers: KAFKA_BROKERS, acks: -1 });
  constructor(
    readonly topic: string,
    readonly partitions = 3,
  ) {}

  async open(): Promise<void> {
    await this.admin.createTopics({
      topics: [this.topic, `${this.topic}.dlq`],
      partitions: this.partitions,
      replicas: 1,
    });
  }

  async publish(payloads: readonly string[]): Promise<void> {
    for (let i = 0; i < payloads.length; i += 500) {
      await this.producer.send({
        messages: payloads.slice(i, i + 500).map((value, j) => ({
          topic: this.topic,
          key: Buffer.from(String(i + j)),
          value: Buffer.from(value),
        })),
      });
    }
  }

  /**
   * Waits until the group is stable with `members` members that all hold partitions. Publishing
   * earlier lets a late joiner trigger a rebalance mid-stream: a batch counted but not yet
   * committed is then delivered again and skipped as a duplicate (exact, but not a clean run).
   */
  async awaitGroup(groupId: string, members: number, timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `group ${groupId} stable with ${members} members`,
      async () => {
        const group = (await this.admin.describeGroups({ groups: [groupId] })).get(groupId);
        if (!group || !["Stable", "STABLE"].includes(group.state) || group.members.size !== members) return false;
        return [...group.members.values()].every((member) => (member.assignments?.size ?? 0) > 0);
      },
      timeoutMs,
    );
  }

  /** Reads the dead-letter topic from the start with a throw-away group. */
  async readDeadLetters(expected: number, timeoutMs = 30_000) {
    const consumer = new Consumer({
      groupId: unique("dlq-reader"),
      clientId: "consumer-tests-dlq",
      bootstrapBrokers: KAFKA_BROKERS,
      maxWaitTime: 100,
    });
    const stream = await consumer.consume({ topics: [`${this.topic}.dlq`], mode: "earliest", autocommit: false });
    const out: { value: string; headers: Record<string, string> }[] = [];
    stream.on("data", (message) => {
      const headers: Record<string, string> = {};
      for (const [key, value] of message.headers) headers[key.toString()] = value.toString();
      out.push({ value: message.value.toString(), headers });
    });
    try {
      await waitFor("dead letters", async () => out.length >= expected, timeoutMs).catch(() => {});
      return out;
    } finally {
      await consumer.close(true);
    }
  }

  async close(): Promise<void> {
    await this.admin.deleteTopics({ topics: [this.topic, `${this.topic}.dlq`] }).catch(() => {});
    await this.producer.close().catch(() => {});
    await this.admin.close().catch(() => {});
  }
}

// ---------- consumer processes ----------

export interface SpawnedConsumer {
  readonly port: number;
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly output: () => string;
}

/** Starts `bun consumers/src/main.ts` with its own queue/topic, store DB and port; resolves once /readyz is 200. */
export async function spawnConsumer(env: Record<string, string>, port = freePort()): Promise<SpawnedConsumer> {
  const proc = Bun.spawn([process.execPath, "consumers/src/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, HTTP_PORT: String(port), LOG_LEVEL: process.env.TEST_CONSUMER_LOG_LEVEL ?? "warn", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      output += decoder.decode(value);
    }
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  await waitFor(
    `consumer on port ${port} ready`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`consumer exited with ${proc.exitCode}: ${output}`);
      const response = await fetch(`http://127.0.0.1:${port}/readyz`);
      return response.status === 200;
    },
    30_000,
  );
  return { port, proc, output: () => output };
}

export async function stopConsumer(consumer: SpawnedConsumer, signal: "SIGTERM" | "SIGKILL" = "SIGTERM") {
  if (consumer.proc.exitCode !== null) return consumer.proc.exitCode;
  consumer.proc.kill(signal);
  return consumer.proc.exited;
}

export async function metricValue(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n"))
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(" ").at(-1));
  return sum;
}

/** What the pipeline tests need of either broker fixture. */
export interface BrokerFixture {
  open(): Promise<void>;
  publish(payloads: readonly string[]): Promise<void>;
  close(): Promise<void>;
  awaitGroup?(groupId: string, members: number): Promise<void>;
}

export interface PipelineCase {
  name: string;
  kafka: boolean;
  storeUrl: string;
  /** A fresh queue or topic (and group) for one scenario, with the consumer environment that reads it. */
  setup(): { broker: BrokerFixture; env: Record<string, string> };
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
      storeUrl: `${VALKEY_URL}/${db}`,
      setup: () => {
        const queue = unique(`${prefix}-q`);
        return { broker: new RabbitFixture(queue), env: { CONSUMER_SOURCE: "rabbitmq", RABBITMQ_QUEUE: queue } };
      },
    },
    {
      name: "Kafka -> Redis",
      kafka: true,
      storeUrl: `${REDIS_URL}/${db}`,
      setup: () => {
        const topic = unique(`${prefix}-t`);
        return {
          broker: new KafkaFixture(topic),
          env: { CONSUMER_SOURCE: "kafka", KAFKA_TOPIC: topic, KAFKA_GROUP_ID: unique(`${prefix}-g`), ...kafkaEnv },
        };
      },
    },
  ];
}
