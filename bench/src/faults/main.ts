import { join } from "node:path";
import type { BrokerAdmin } from "../brokers.ts";
import type { BenchConfig } from "../config.ts";
import type { Progress } from "../progress.ts";
import type { RunInfo } from "../report/run-info.ts";
import { PIPELINES } from "../stores.ts";
import { FAULT_CASES, type FaultCase } from "./cases.ts";
import { writeFaultReport } from "./report.ts";
import { FAULT_PROFILES, type FaultResult, faultPassed, runFaultCase } from "./run.ts";

/** The cases FAULTS names ("all", or ids separated by commas), in the suite's order. */
export function selectFaults(selection: string): FaultCase[] {
  if (selection === "all") return [...FAULT_CASES];
  const wanted = selection.split(",").map((id) => id.trim());
  const unknown = wanted.filter((id) => !FAULT_CASES.some((c) => c.id === id));
  if (unknown.length > 0) {
    throw new Error(`unknown fault ${unknown.join(", ")}; known: ${FAULT_CASES.map((c) => c.id).join(", ")}`);
  }
  return FAULT_CASES.filter((c) => wanted.includes(c.id));
}

/** `make chaos` / `make bench SCENARIO=faults`: every selected case under load, then the report. */
export async function runFaultSuite(options: {
  root: string;
  runId: string;
  dir: string;
  config: Readonly<BenchConfig>;
  admin: BrokerAdmin;
  progress: Progress;
  info: RunInfo;
}): Promise<FaultResult[]> {
  const { config } = options;
  const profile = FAULT_PROFILES[config.FAULT_PROFILE];
  const results: FaultResult[] = [];
  for (const fault of selectFaults(config.FAULTS)) {
    const result = await runFaultCase(
      {
        root: options.root,
        runId: options.runId,
        runDir: options.dir,
        admin: options.admin,
        progress: options.progress,
        valkeyUrl: config.VALKEY_URL,
        redisUrl: config.REDIS_URL,
        db: config.FAULTS_DB,
        basePort: config.FAULTS_BASE_PORT,
      },
      fault,
      profile,
    );
    results.push(result);
    const counts = PIPELINES.map((p) => {
      const v = result.pipelines[p];
      return `${p} lost ${v.lost} twice ${v.countedTwice}`;
    });
    console.log(
      `  ${fault.id}: ${faultPassed(result) ? "pass" : "FAIL"} | ${counts.join(" | ")} | ready again after ${result.recoveredS ?? "-"} s`,
    );
  }
  const command = `make bench SCENARIO=faults FAULT_PROFILE=${config.FAULT_PROFILE} FAULTS=${config.FAULTS}`;
  await writeFaultReport(options.dir, results, profile, options.info, command);
  console.log(`Faults: report in ${join(options.dir, "report.md")} and report.html`);
  return results;
}
