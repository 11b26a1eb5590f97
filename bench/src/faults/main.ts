import { join } from "node:path";
import { BrokerAdmin } from "../brokers.ts";
import type { BenchConfig } from "../config.ts";
import type { Progress } from "../progress.ts";
import type { RunInfo } from "../report/run-info.ts";
import { PIPELINES } from "../stores.ts";
import { FAULT_CASES, type FaultCase, HA_FAULT_CASES } from "./cases.ts";
import { writeFaultReport } from "./report.ts";
import {
  FAULT_PROFILES,
  type FaultContext,
  type FaultProfile,
  type FaultResult,
  faultPassed,
  runFaultCase,
} from "./run.ts";

/** The cases FAULTS names ("all", or ids separated by commas) of a topology's list, in the suite's order. */
export function selectFaults(selection: string, cases: readonly FaultCase[] = FAULT_CASES): FaultCase[] {
  if (selection === "all") return [...cases];
  const wanted = selection.split(",").map((id) => id.trim());
  const unknown = wanted.filter((id) => !cases.some((c) => c.id === id));
  if (unknown.length > 0) {
    throw new Error(`unknown fault ${unknown.join(", ")}; known: ${cases.map((c) => c.id).join(", ")}`);
  }
  return cases.filter((c) => wanted.includes(c.id));
}

/**
 * The topology the suite runs on: the single nodes (the ten cases), or the HA clusters (the
 * node-loss cases), whose services get TOPOLOGY=ha and whose topics three copies.
 */
export function faultTopology(
  config: Readonly<BenchConfig>,
  singleAdmin?: BrokerAdmin,
): {
  cases: readonly FaultCase[];
  admin: BrokerAdmin;
  basePort: number;
  stackEnv: Record<string, string>;
  /** Seconds of load per case in a profile. */
  loadS: (profile: FaultProfile) => number;
} {
  if (config.TOPOLOGY === "single") {
    const admin = singleAdmin ?? new BrokerAdmin(config.RABBITMQ_URL, config.KAFKA_BROKERS);
    return { cases: FAULT_CASES, admin, basePort: config.FAULTS_BASE_PORT, stackEnv: {}, loadS: (p) => p.loadS };
  }
  return {
    cases: HA_FAULT_CASES,
    admin: new BrokerAdmin(config.RABBITMQ_HA_URL, config.KAFKA_HA_BROKERS, config.KAFKA_HA_REPLICATION_FACTOR),
    basePort: config.FAULTS_HA_BASE_PORT,
    stackEnv: { TOPOLOGY: "ha" },
    loadS: (p) => p.haLoadS,
  };
}

/** What runFaultCase needs for one run of the suite on a topology. */
export function faultContext(
  config: Readonly<BenchConfig>,
  topology: ReturnType<typeof faultTopology>,
  profile: FaultProfile,
  run: Pick<FaultContext, "root" | "runId" | "runDir" | "progress">,
): FaultContext {
  return {
    ...run,
    admin: topology.admin,
    valkeyUrl: config.VALKEY_URL,
    redisUrl: config.REDIS_URL,
    db: config.FAULTS_DB,
    basePort: topology.basePort,
    stackEnv: topology.stackEnv,
    loadS: topology.loadS(profile),
  };
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
  const topology = faultTopology(config, options.admin);
  for (const fault of selectFaults(config.FAULTS, topology.cases)) {
    const result = await runFaultCase(
      faultContext(config, topology, profile, {
        root: options.root,
        runId: options.runId,
        runDir: options.dir,
        progress: options.progress,
      }),
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
  const command = `make bench SCENARIO=faults TOPOLOGY=${config.TOPOLOGY} FAULT_PROFILE=${config.FAULT_PROFILE} FAULTS=${config.FAULTS}`;
  await writeFaultReport(options.dir, results, profile, options.info, command);
  console.log(`Faults: report in ${join(options.dir, "report.md")} and report.html`);
  return results;
}
