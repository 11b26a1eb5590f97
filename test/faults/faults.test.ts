import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokerAdmin } from "../../bench/src/brokers.ts";
import { loadBenchConfig } from "../../bench/src/config.ts";
import { FAULT_CASES } from "../../bench/src/faults/cases.ts";
import { writeFaultReport } from "../../bench/src/faults/report.ts";
import { FAULT_PROFILES, type FaultResult, runFaultCase } from "../../bench/src/faults/run.ts";
import { Progress } from "../../bench/src/progress.ts";
import { collectRunInfo } from "../../bench/src/report/run-info.ts";
import { PIPELINES } from "../../bench/src/stores.ts";
import { ROOT, stack } from "../support/index.ts";

/**
 * The fault suite's short version (what `make chaos` runs at full length): each fault under load,
 * through `make dev`'s own supervisor and scripts. For every case and both stores: nothing
 * acknowledged is lost, nothing is counted twice, the stores agree, the brokers hold nothing once
 * the consumers have stopped, and every service is ready again within 60 s of the fault's end,
 * with no command typed. A report of the run is written for reading (path printed at the end).
 */
const config = loadBenchConfig({ ...process.env, SCENARIO: "faults", FAULT_PROFILE: "short", BENCH_PROGRESS: "false" });
const profile = FAULT_PROFILES.short;
const runId = `t${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), "weather-faults-"));
const admin = new BrokerAdmin(stack.RABBITMQ_URL, stack.KAFKA_BROKERS);
const results: FaultResult[] = [];

afterAll(async () => {
  const info = await collectRunInfo(ROOT, runId, config);
  await writeFaultReport(dir, results, profile, info, "bun test test/faults (FAULT_PROFILE=short)");
  console.log(`fault suite report: ${join(dir, "report.md")}`);
});

describe.each(FAULT_CASES.map((fault) => ({ ...fault, fault })))("$id: $title", ({ fault }) => {
  test("nothing lost, nothing counted twice, stores equal, every service ready again within 60 s", async () => {
    const result = await runFaultCase(
      {
        root: ROOT,
        runId,
        runDir: dir,
        admin,
        progress: new Progress(false),
        valkeyUrl: stack.VALKEY_URL,
        redisUrl: stack.REDIS_URL,
        db: config.FAULTS_DB,
        basePort: config.FAULTS_BASE_PORT,
      },
      fault,
      profile,
    );
    results.push(result);
    expect(result.sent).toBe(profile.ratePerS * profile.loadS);
    for (const pipeline of PIPELINES) {
      const verdict = result.pipelines[pipeline];
      // Every message the client sent was acknowledged in the end (it retries a 503 with the same id).
      expect({ pipeline, acknowledged: verdict.acknowledged }).toEqual({ pipeline, acknowledged: result.sent });
      expect({ pipeline, lost: verdict.lost, countedTwice: verdict.countedTwice }).toEqual({
        pipeline,
        lost: 0,
        countedTwice: 0,
      });
      expect({ pipeline, counted: verdict.counted, countriesExact: verdict.countriesExact }).toEqual({
        pipeline,
        counted: result.sent,
        countriesExact: true,
      });
      expect({ pipeline, backlogLeft: verdict.backlogLeft }).toEqual({ pipeline, backlogLeft: 0 });
    }
    expect(result.storesEqual).toBe(true);
    expect(result.recoveredS).not.toBeNull();
    expect(result.recoveredS as number).toBeLessThanOrEqual(60);
  }, 240_000);
});
