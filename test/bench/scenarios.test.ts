import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSnapshot } from "@weather/store";
import Valkey from "iovalkey";
import { runBench } from "../../bench/src/main.ts";
import type { PhaseResult } from "../../bench/src/phase.ts";
import type { ScenarioResult } from "../../bench/src/scenarios.ts";
import { ConsumerConfig } from "../../consumers/src/config.ts";

/** The consumers' default batch size: the bench runs them with it. */
const KAFKA_BATCH_MAX_SIZE: number = ConsumerConfig.properties.BATCH_MAX_SIZE.default;

/**
 * Short runs of every scenario against the real native stack: each must finish, count
 * every accepted message exactly once at a low rate, and its report must hold what the
 * stores hold. Logical DB 9 of each store and ports 3500-3519 belong to this file.
 */
const DB = 9;
const VALKEY_URL = process.env.VALKEY_URL ?? "redis://127.0.0.1:6380";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const reportsDir = mkdtempSync(join(tmpdir(), "bench-scenarios-"));

const baseEnv = {
  ...process.env,
  DURATION_S: "2",
  RATE: "200",
  WARMUP_S: "1",
  WARMUP_RATE: "100",
  MAX_START_RATE: "200",
  MAX_LIMIT_RATE: "400",
  MAX_STEP_S: "2",
  LOCUST_USERS: "20",
  LOCUST_SPAWN_RATE: "20",
  DRAIN_STALL_S: "10",
  BENCH_VALKEY_DB: String(DB),
  BENCH_REDIS_DB: String(DB),
  REPORTS_DIR: reportsDir,
  BENCH_PROGRESS: "false",
};

afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

async function run(scenario: string, extra: Record<string, string> = {}) {
  const { dir } = await runBench({ ...baseEnv, SCENARIO: scenario, ...extra });
  const result = (await Bun.file(join(dir, "result.json")).json()) as { scenario: ScenarioResult };
  const markdown = await Bun.file(join(dir, "report.md")).text();
  for (const file of ["report.html", "config.json"]) expect(existsSync(join(dir, file))).toBe(true);
  return { dir, scenario: result.scenario, markdown };
}

/** What a store holds now in the bench's DB: the last phase's figures. */
async function storeNow(url: string) {
  const client = new Valkey(`${url}/${DB}`);
  try {
    return await readSnapshot(client);
  } finally {
    client.disconnect();
  }
}

/** Every accepted message counted once in each store, and the report says so. */
function expectExact(phase: PhaseResult, markdown: string) {
  expect(phase.load.accepted).toBeGreaterThan(0);
  expect(phase.accepted).toBe(phase.apiMetrics.acceptedTotal as number);
  if (phase.load.generator === "vegeta") expect(phase.accepted).toBe(phase.load.accepted);
  // Locust stops with requests in flight: the API may have accepted a few it never saw answered.
  else expect(phase.accepted - phase.load.accepted).toBeWithin(0, 21);
  for (const pipeline of ["rabbitmq-valkey", "kafka-redis"] as const) {
    const outcome = phase.pipelines[pipeline];
    expect({ pipeline, counted: outcome.counted }).toEqual({ pipeline, counted: phase.accepted });
    // A Kafka group rebalance replays at most the batch each member had counted but not committed
    // (skipped as duplicates); competing RabbitMQ consumers never see an acked message again.
    const replayBound = pipeline === "kafka-redis" ? phase.spec.replicas.kafka * KAFKA_BATCH_MAX_SIZE : 0;
    expect(outcome.snapshot.duplicates).toBeLessThanOrEqual(replayBound);
    const countrySum = Object.values(outcome.snapshot.countries).reduce((a, b) => a + b, 0);
    expect(countrySum).toBe(outcome.counted);
    expect(markdown).toContain(`| ${pipeline} | ${phase.accepted} | ${outcome.counted} | ${outcome.lost} |`);
  }
  expect(phase.pipelines["rabbitmq-valkey"].snapshot.countries).toEqual(
    phase.pipelines["kafka-redis"].snapshot.countries,
  );
}

/** The report's last phase is exactly what the stores hold after the run. */
async function expectStoresMatch(phase: PhaseResult) {
  const [valkey, redis] = await Promise.all([storeNow(VALKEY_URL), storeNow(REDIS_URL)]);
  for (const [store, pipeline] of [
    [valkey, "rabbitmq-valkey"],
    [redis, "kafka-redis"],
  ] as const) {
    const snapshot = phase.pipelines[pipeline].snapshot;
    expect(store.total).toBe(snapshot.total);
    expect(store.countries).toEqual(snapshot.countries);
    expect(store.latencyMs).toEqual(snapshot.latencyMs);
  }
}

describe("bench scenarios (short)", () => {
  test("rate: open-loop load, every accepted message counted once in both stores", async () => {
    const { scenario, markdown, dir } = await run("rate");
    const phase = scenario.phases[0] as PhaseResult;
    expect(phase.load.generator).toBe("vegeta");
    expect(phase.load.sent).toBe(400);
    expectExact(phase, markdown);
    await expectStoresMatch(phase);
    const csv = await Bun.file(join(dir, "phases/rate/http-requests.csv")).text();
    expect(csv.trim().split("\n")).toHaveLength(phase.load.sent + 1);
  }, 60_000);

  test("seed: the original Locust run", async () => {
    const { scenario, markdown } = await run("seed");
    const phase = scenario.phases[0] as PhaseResult;
    expect(phase.load.generator).toBe("locust");
    expect(phase.load.failed).toBe(0);
    expectExact(phase, markdown);
    await expectStoresMatch(phase);
  }, 60_000);

  test("replicas: 1 then 2 consumer replicas", async () => {
    const { scenario, markdown } = await run("replicas");
    expect(scenario.phases.map((p) => p.spec.replicas)).toEqual([
      { rabbitmq: 1, kafka: 1 },
      { rabbitmq: 2, kafka: 2 },
    ]);
    for (const phase of scenario.phases) expectExact(phase, markdown);
    await expectStoresMatch(scenario.phases[1] as PhaseResult);
  }, 90_000);

  test("partitions: Kafka topic with 1 then 3 partitions", async () => {
    const { scenario, markdown } = await run("partitions");
    expect(scenario.phases.map((p) => p.spec.partitions)).toEqual([1, 3]);
    for (const phase of scenario.phases) expectExact(phase, markdown);
    await expectStoresMatch(scenario.phases[1] as PhaseResult);
  }, 90_000);

  test("backlog: consumers stopped during the load, then the drain is measured", async () => {
    const { scenario, markdown } = await run("backlog");
    const phase = scenario.phases[0] as PhaseResult;
    expectExact(phase, markdown);
    for (const pipeline of ["rabbitmq-valkey", "kafka-redis"] as const) {
      const backlog = phase.pipelines[pipeline].backlog;
      // Nothing was counted while the consumers were stopped: the whole load was backlog.
      expect(backlog?.messages).toBe(phase.accepted);
      expect(backlog?.drainRatePerS).toBeGreaterThan(0);
    }
    await expectStoresMatch(phase);
  }, 60_000);

  test("ceiling: each part alone, then both pipelines against their slowest part", async () => {
    const { scenario, markdown } = await run("ceiling", {
      CEILING_PART_S: "1",
      CEILING_CONCURRENCY: "200",
      CEILING_PIPELINE_BATCH: "10",
      MAX_LIMIT_RATE: "200",
    });
    const ceiling = scenario.ceiling;
    if (!ceiling) throw new Error("no ceiling result");
    expect(ceiling.parts.map((p) => p.id)).toEqual([
      "rabbitmq-publish",
      "rabbitmq-consume",
      "kafka-publish",
      "kafka-consume",
      "valkey-count-100",
      "valkey-count-500",
      "redis-count-100",
      "redis-count-500",
    ]);
    const part = (id: string) => ceiling.parts.find((p) => p.id === id);
    for (const broker of ["rabbitmq", "kafka"]) {
      // Everything the broker confirmed was consumed, exactly.
      expect(part(`${broker}-consume`)?.messages).toBe(part(`${broker}-publish`)?.messages as number);
    }
    for (const p of ceiling.parts) {
      expect(p.ratePerS).toBeGreaterThan(0);
      // The servers and the bench's own client did the work: their CPU is accounted for.
      expect(p.cpu.rows.map((r) => r.role)).toEqual(expect.arrayContaining(["load generator", "broker", "store"]));
      expect(p.cpu.total.cpuSeconds).toBeGreaterThan(0);
    }
    // One search with single messages, one with batches; each pipeline judged against its slowest part.
    expect(ceiling.searches.map((s) => s.messagesPerRequest)).toEqual([1, 10]);
    expect(ceiling.pipelines).toHaveLength(4);
    for (const p of ceiling.pipelines) {
      const own = p.pipeline === "rabbitmq-valkey" ? /^(rabbitmq|valkey)-/ : /^(kafka|redis)-/;
      expect(p.slowestPart).toMatch(own);
      expect(p.highestRatePerS).toBe(200);
      expect(p.fraction).toBeCloseTo(200 / p.slowestRatePerS, 9);
    }
    for (const phase of scenario.phases) expectExact(phase, markdown);
    expect(markdown).toContain("## Ceiling: each part alone");
  }, 180_000);

  test("max: steps up the rate and reports each pipeline's highest sustained rate", async () => {
    const { scenario, markdown } = await run("max");
    expect(scenario.max?.steps.map((s) => s.ratePerS).slice(0, 2)).toEqual([200, 400]);
    for (const phase of scenario.phases) expectExact(phase, markdown);
    // 200/s is far below what either pipeline handles: it must hold.
    expect(scenario.max?.highest["rabbitmq-valkey"]).toBeGreaterThanOrEqual(200);
    expect(scenario.max?.highest["kafka-redis"]).toBeGreaterThanOrEqual(200);
    await expectStoresMatch(scenario.phases.at(-1) as PhaseResult);
  }, 120_000);
});
