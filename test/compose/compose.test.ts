/**
 * compose.yaml run for real (make compose-test): messages through the api container's published
 * port, exact counts per country in both stores, one consumer of each pipeline crashed under load
 * and brought back by the restart policy, counts still exact. Lost = 0 and counted twice = 0, per
 * store, with no tolerance. scripts/docker/compose-test.sh starts the stack (`up --wait`) before
 * and removes it (`down -v`) after.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { waitFor } from "@weather/async";
import { readSnapshot, type StoreSnapshot } from "@weather/store";
import Valkey from "iovalkey";
import {
  API_URL,
  type ContainerState,
  containerIds,
  crash,
  execIn,
  inspect,
  PROMETHEUS_URL,
  REDIS_URL,
  VALKEY_URL,
} from "./stack.ts";

const MESSAGES = Number(process.env.COMPOSE_TEST_MESSAGES ?? 2000);
/** Requests in flight at once. */
const CONCURRENCY = 16;
/** The consumers are crashed once this many messages have been accepted. */
const CRASH_AFTER = Math.floor(MESSAGES * 0.3);
const COUNTRIES = ["GT", "MX", "SV", "HN", "NI", "CR", "PA"] as const;
const WEATHERS = ["Lluvioso", "Nublado", "Soleado"] as const;
/** Enough for a Kafka group to drop the crashed member and rebalance, on a busy 2-core machine. */
const DRAIN_TIMEOUT_MS = 300_000;
const RESTART_TIMEOUT_MS = 120_000;

const valkey = new Valkey(VALKEY_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
const redis = new Valkey(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 3 });
afterAll(() => {
  valkey.disconnect();
  redis.disconnect();
});

interface Sent {
  countries: Record<string, number>;
  weathers: Record<string, number>;
  retries: number;
}

/** POST /process with the client's own id; a 503 is retried with the same id (counted once). */
async function post(body: Record<string, string>): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(`${API_URL}/process`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    if (response.status === 202) return attempt - 1;
    if (response.status !== 503 || attempt >= 5) throw new Error(`POST /process: ${response.status}`);
    await Bun.sleep(Number(response.headers.get("retry-after") ?? 1) * 1000);
  }
}

/** Sends MESSAGES messages; calls onAccepted after each 202. Returns what was accepted, per key. */
async function sendAll(onAccepted: (accepted: number) => void): Promise<Sent> {
  const sent: Sent = { countries: {}, weathers: {}, retries: 0 };
  let next = 0;
  let accepted = 0;
  const worker = async () => {
    for (let i = next++; i < MESSAGES; i = next++) {
      const country = COUNTRIES[i % COUNTRIES.length] as string;
      const weather = WEATHERS[i % WEATHERS.length] as string;
      sent.retries += await post({ id: crypto.randomUUID(), description: `compose test ${i}`, country, weather });
      sent.countries[country] = (sent.countries[country] ?? 0) + 1;
      sent.weathers[weather] = (sent.weathers[weather] ?? 0) + 1;
      onAccepted(++accepted);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return sent;
}

/** RabbitMQ's own count, not a sampled statistic: messages ready plus delivered but not acknowledged. */
function rabbitmqBacklog(): number {
  const line = execIn("rabbitmq", ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name", "messages"])
    .split("\n")
    .find((l) => l.split(/\s+/)[0] === "message");
  if (!line) throw new Error("queue `message` not found");
  return Number(line.split(/\s+/)[1]);
}

/** The consumer group's lag summed over the topic's partitions, from the broker (undefined: unknown). */
function kafkaLag(): number | undefined {
  const out = execIn("kafka", [
    "/opt/kafka/bin/kafka-consumer-groups.sh",
    "--bootstrap-server",
    "localhost:9092",
    "--describe",
    "--group",
    "kafka-consumer",
  ]);
  const rows = out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols[1] === "message");
  if (rows.length === 0) return undefined;
  let lag = 0;
  for (const cols of rows) {
    const value = Number(cols[5]);
    if (!Number.isInteger(value)) return undefined; // "-": nothing committed yet
    lag += value;
  }
  return lag;
}

async function snapshots(): Promise<string> {
  const [v, r] = await Promise.all([readSnapshot(valkey), readSnapshot(redis)]);
  return `Valkey total ${v.total} (duplicates ${v.duplicates}), Redis total ${r.total} (duplicates ${r.duplicates})`;
}

/** One instant query against the compose stack's Prometheus: the value of each series. */
async function promQuery(query: string): Promise<number[]> {
  const response = await fetch(`${PROMETHEUS_URL}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data: { result: { value: [number, string] }[] } };
  return body.data.result.map((series) => Number(series.value[1]));
}

/** Back after a crash: restarted by Docker (not recreated), running, and healthy (/readyz). */
function restarted(id: string, before: ContainerState): ContainerState | undefined {
  const now = inspect(id);
  return now.restartCount > before.restartCount && now.running && now.health === "healthy" ? now : undefined;
}

describe("compose.yaml, as users run it", () => {
  test(`${MESSAGES} messages through the API, a consumer of each pipeline crashed under load: counts exact in both stores`, async () => {
    await Promise.all([valkey.connect(), redis.connect()]);
    const empty = await Promise.all([readSnapshot(valkey), readSnapshot(redis)]);
    expect(empty.map((s) => s.total)).toEqual([0, 0]); // a fresh stack (down -v before up)

    const rabbitmqConsumer = containerIds("rabbitmq-consumer")[0];
    const kafkaConsumer = containerIds("kafka-consumer")[0];
    if (!rabbitmqConsumer || !kafkaConsumer) throw new Error("consumer containers not found");
    let crashed: { id: string; before: ContainerState }[] = [];

    const started = Date.now();
    const sent = await sendAll((accepted) => {
      if (accepted === CRASH_AFTER) {
        crashed = [rabbitmqConsumer, kafkaConsumer].map((id) => ({ id, before: crash(id) }));
      }
    });
    const sendMs = Date.now() - started;
    expect(crashed.length).toBe(2);

    // The restart policy (unless-stopped) brings each one back, and it becomes ready again.
    for (const { id, before } of crashed) {
      await waitFor(`container ${id} restarted and healthy`, () => restarted(id, before), {
        timeoutMs: RESTART_TIMEOUT_MS,
        describe: () => JSON.stringify(inspect(id)),
      });
    }

    // Every message counted: the totals reach MESSAGES, then both backlogs are empty, so nothing
    // is left to arrive; the counts read after that are final.
    await waitFor(
      `${MESSAGES} counted in both stores`,
      async () => {
        const [v, r] = await Promise.all([readSnapshot(valkey), readSnapshot(redis)]);
        return v.total >= MESSAGES && r.total >= MESSAGES ? true : undefined;
      },
      { timeoutMs: DRAIN_TIMEOUT_MS, describe: snapshots, intervalMs: 500 },
    );
    await waitFor("an empty RabbitMQ queue", () => (rabbitmqBacklog() === 0 ? true : undefined), {
      timeoutMs: DRAIN_TIMEOUT_MS,
    });
    await waitFor("Kafka lag 0", () => (kafkaLag() === 0 ? true : undefined), {
      timeoutMs: DRAIN_TIMEOUT_MS,
      describe: () => "",
      intervalMs: 1000,
    });

    const [inValkey, inRedis] = (await Promise.all([readSnapshot(valkey), readSnapshot(redis)])) as [
      StoreSnapshot,
      StoreSnapshot,
    ];
    console.log(
      `compose test: ${MESSAGES} accepted in ${sendMs} ms (${sent.retries} retried 503s); ` +
        `redeliveries skipped as duplicates: Valkey ${inValkey.duplicates}, Redis ${inRedis.duplicates}; ` +
        `counted in ${Date.now() - started} ms`,
    );
    for (const store of [inValkey, inRedis]) {
      expect(store.total).toBe(MESSAGES);
      expect(store.countries).toEqual(sent.countries);
      expect(store.weathers).toEqual(sent.weathers);
      expect(store.deadLettered).toBe(0);
    }
  });

  test("Prometheus finds every replica by DNS (prometheus/prometheus.compose.yml) and sees what the API accepted", async () => {
    const replicas = containerIds("api").length + containerIds("rabbitmq-consumer").length;
    const expected = replicas + containerIds("kafka-consumer").length;
    await waitFor(
      `${expected} targets up`,
      async () => {
        const up = await promQuery('up{job=~"api|rabbitmq-consumer|kafka-consumer"}');
        return up.length === expected && up.every((value) => value === 1) ? true : undefined;
      },
      { timeoutMs: 60_000, describe: async () => `up: ${JSON.stringify(await promQuery("up"))}`, intervalMs: 1000 },
    );
    // The API was never restarted, so its counter is the whole run's: every message accepted.
    await waitFor(
      `api_messages_accepted_total = ${MESSAGES}`,
      async () => ((await promQuery("sum(api_messages_accepted_total)"))[0] === MESSAGES ? true : undefined),
      {
        timeoutMs: 60_000,
        describe: async () => JSON.stringify(await promQuery("sum(api_messages_accepted_total)")),
        intervalMs: 1000,
      },
    );
  });
});
