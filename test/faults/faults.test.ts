import { afterAll, describe, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBenchConfig } from "../../bench/src/config.ts";
import { faultContext, faultTopology } from "../../bench/src/faults/main.ts";
import { writeFaultReport } from "../../bench/src/faults/report.ts";
import { FAULT_PROFILES, type FaultResult, runFaultCase } from "../../bench/src/faults/run.ts";
import { Progress } from "../../bench/src/progress.ts";
import { collectRunInfo } from "../../bench/src/report/run-info.ts";
import { ROOT } from "../support/index.ts";
import { expectExactlyOnce } from "./verdict.ts";

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
const topology = faultTopology(config);
const results: FaultResult[] = [];

afterAll(async () => {
  const info = await collectRunInfo(ROOT, runId, config);
  await writeFaultReport(dir, results, profile, info, "bun test test/faults (FAULT_PROFILE=short)");
  console.log(`fault suite report: ${join(dir, "report.md")}`);
});

describe.each(topology.cases.map((fault) => ({ ...fault, fault })))("$id: $title", ({ fault }) => {
  test("nothing lost, nothing counted twice, stores equal, every service ready again within 60 s", async () => {
    const result = await runFaultCase(
      faultContext(config, topology, profile, { root: ROOT, runId, runDir: dir, progress: new Progress(false) }),
      fault,
      profile,
    );
    results.push(result);
    expectExactlyOnce(result, profile.ratePerS * profile.loadS);
  }, 240_000);
});
