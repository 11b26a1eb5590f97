import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { STORE_KEYS } from "@weather/store";
import { runBench } from "../../bench/src/main.ts";
import type { PhaseResult } from "../../bench/src/phase.ts";
import type { ScenarioResult } from "../../bench/src/scenarios.ts";
import { DEDUP_BUCKET_KEYS_MAX, steadySamples } from "../../bench/src/soak.ts";
import { PIPELINES } from "../../bench/src/stores.ts";
import { loadConsumerConfig } from "../../consumers/src/config.ts";

/**
 * The soak scenario, short (what `make bench SCENARIO=soak` runs for 30 minutes): a 20 s dedup
 * window, a minute of load at 300 msg/s, memory sampled every 2 s. After 1.25 windows each store's
 * used_memory must stay within the sizing formula's bound for the rate achieved, the dedup bucket
 * keys within DEDUP_BUCKETS + 2, and every accepted message counted exactly once in each store.
 * Logical DB 11 of each store belongs to this file; ports are the bench's (BENCH_API_PORT, ...).
 */
const WINDOW_S = 20;
const DURATION_S = 60;
const RATE = 300;
const reportsDir = mkdtempSync(join(tmpdir(), "bench-soak-"));
afterAll(() => rmSync(reportsDir, { recursive: true, force: true }));

describe("soak (short)", () => {
  let scenario: ScenarioResult;
  let phase: PhaseResult;
  let dir: string;

  test("runs to the end", async () => {
    ({ dir } = await runBench({
      ...process.env,
      SCENARIO: "soak",
      SOAK_DURATION_S: String(DURATION_S),
      SOAK_RATE: String(RATE),
      SOAK_SAMPLE_S: "2",
      DEDUP_WINDOW_SECONDS: String(WINDOW_S),
      WARMUP_S: "1",
      WARMUP_RATE: "100",
      DRAIN_STALL_S: "10",
      BENCH_VALKEY_DB: "11",
      BENCH_REDIS_DB: "11",
      REPORTS_DIR: reportsDir,
      BENCH_PROGRESS: "false",
    }));
    scenario = ((await Bun.file(join(dir, "result.json")).json()) as { scenario: ScenarioResult }).scenario;
    phase = scenario.phases[0] as PhaseResult;
    expect(phase.spec.id).toBe("soak");
  }, 240_000);

  test("every accepted message counted exactly once in each store: 0 lost, 0 counted twice", () => {
    // Every request the generator sent was accepted (vegeta may send one less than scheduled on a busy machine).
    expect(phase.load.failed).toBe(0);
    expect(phase.accepted).toBe(phase.load.accepted);
    expect(phase.accepted).toBeGreaterThan(0);
    for (const pipeline of PIPELINES) {
      const { counted, lost, extra } = phase.pipelines[pipeline];
      expect({ pipeline, counted, lost, countedTwice: extra }).toEqual({
        pipeline,
        counted: phase.accepted,
        lost: 0,
        countedTwice: 0,
      });
    }
  });

  test("after the window, each store's used_memory is within the formula's bound, and its keys within theirs", () => {
    const steady = steadySamples(phase, WINDOW_S);
    // Samples every 2 s from 25 s to the end of a 60 s load.
    expect(steady.length).toBeGreaterThanOrEqual(10);
    const soak = scenario.soak;
    if (!soak) throw new Error("no soak analysis in the result");
    // Layout keys, the replay guard (RabbitMQ's unacknowledged ids or Kafka's offsets) and the buckets.
    const keysMax = Object.keys(STORE_KEYS).length + 1 + DEDUP_BUCKET_KEYS_MAX;
    for (const store of soak.stores) {
      const { pipeline, maxUsedBytes, boundBytes, maxDedupBuckets, maxKeys, usedBeforeBytes } = store;
      // On failure the received object shows the figures, and how much the server held before the soak.
      const within = (maxUsedBytes ?? Number.POSITIVE_INFINITY) <= boundBytes;
      expect({ pipeline, within, maxUsedBytes, boundBytes, usedBeforeBytes }).toMatchObject({ pipeline, within: true });
      expect(maxDedupBuckets).toBeLessThanOrEqual(DEDUP_BUCKET_KEYS_MAX);
      // A window's traffic fills more than one bucket: the window really is in use.
      expect(maxDedupBuckets).toBeGreaterThanOrEqual(2);
      expect(maxKeys).toBeLessThanOrEqual(keysMax);
      // RabbitMQ's replay guard holds the ids in flight only: at most two prefetch windows per
      // replica (those whose acknowledgement is on its way, and the window delivered meanwhile).
      // A consumer that forgets to tell the store about confirmed acknowledgements grows it by the rate.
      const { RABBITMQ_PREFETCH } = loadConsumerConfig({ ...process.env, CONSUMER_SOURCE: "rabbitmq" });
      const unacknowledgedMax =
        pipeline === "rabbitmq-valkey" ? 2 * RABBITMQ_PREFETCH * phase.spec.replicas.rabbitmq : 0;
      expect({ pipeline, maxUnacknowledged: store.maxUnacknowledged }).toEqual({
        pipeline,
        maxUnacknowledged: expect.any(Number),
      });
      expect(store.maxUnacknowledged).toBeLessThanOrEqual(unacknowledgedMax);
      expect(store.within).toBe(true);
      expect(store.ratePerS).toBeCloseTo(phase.accepted / DURATION_S, 6);
    }
    // Every process and both stores were sampled, and the series were judged.
    const names = soak.series.map((s) => s.series);
    for (const expected of ["rss api", "rss vegeta", "used_memory rabbitmq-valkey", "keys kafka-redis"]) {
      expect(names).toContain(expected);
    }
  });

  test("the reports show the bound, the verdicts and a memory chart", async () => {
    const markdown = await Bun.file(join(dir, "report.md")).text();
    expect(markdown).toContain("## Soak: memory after the dedup window");
    expect(markdown).toContain("| rabbitmq-valkey |");
    const html = await Bun.file(join(dir, "report.html")).text();
    expect(html).toContain('data-chart="storeMemory"');
    const csv = (await Bun.file(join(dir, "phases/soak/memory.csv")).text()).trim().split("\n");
    expect(csv.length - 1).toBe(phase.memory?.length ?? -1);
  });
});
