/**
 * `make bench`: runs one scenario against the native stack and writes
 * reports/<timestamp>-<scenario>/ (report.md, report.html, raw data).
 */
import { resolve } from "node:path";
import { BrokerAdmin } from "./brokers.ts";
import { loadBenchConfig, withDb } from "./config.ts";
import { runFaultSuite } from "./faults/main.ts";
import type { FaultResult } from "./faults/run.ts";
import { writeHaReport } from "./ha/report.ts";
import { runHaScenario } from "./ha/scenario.ts";
import type { PhaseContext } from "./phase.ts";
import { Progress } from "./progress.ts";
import { collectRunInfo } from "./report/run-info.ts";
import { summaryLines, writeReport } from "./report/write.ts";
import { runScenario } from "./scenarios.ts";
import { StoreReader } from "./stores.ts";

export async function runBench(
  env: Record<string, string | undefined> = process.env,
): Promise<{ dir: string; faults?: FaultResult[] }> {
  const root = resolve(import.meta.dir, "../..");
  const config = loadBenchConfig(env);
  const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
  const runId = `${stamp.toLowerCase()}-${Math.random().toString(36).slice(2, 6)}`;
  const dir = resolve(root, config.REPORTS_DIR, `${stamp}-${config.SCENARIO}`);
  const info = await collectRunInfo(root, runId, config);
  const readers = {
    "rabbitmq-valkey": new StoreReader("rabbitmq-valkey", withDb(config.VALKEY_URL, config.BENCH_VALKEY_DB)),
    "kafka-redis": new StoreReader("kafka-redis", withDb(config.REDIS_URL, config.BENCH_REDIS_DB)),
  } as const;
  const progress = new Progress(config.BENCH_PROGRESS);
  const ctx: PhaseContext = {
    root,
    runId,
    runDir: dir,
    config,
    readers,
    admin: new BrokerAdmin(config.RABBITMQ_URL, config.KAFKA_BROKERS),
    progress,
  };
  try {
    progress.status(`bench ${config.SCENARIO}: run ${runId}, output ${dir}`);
    if (config.SCENARIO === "faults") {
      const results = await runFaultSuite({ root, runId, dir, config, admin: ctx.admin, progress, info });
      progress.status("");
      return { dir, faults: results };
    }
    if (config.SCENARIO === "ha") {
      const result = await runHaScenario(ctx);
      const max = config.HA_MAX_SEARCH
        ? `MAX_STEP_S=${config.MAX_STEP_S} MAX_START_RATE=${config.MAX_START_RATE} MAX_LIMIT_RATE=${config.MAX_LIMIT_RATE}`
        : "HA_MAX_SEARCH=false";
      const command = `make bench SCENARIO=ha RATE=${config.RATE} DURATION_S=${config.DURATION_S} ${max} FAULT_PROFILE=${config.FAULT_PROFILE} FAULTS=${config.FAULTS}`;
      await writeHaReport(dir, result, info, command);
      progress.status("");
      console.log(`Scenario ha: report in ${dir}/report.md and report.html`);
      return { dir, faults: result.failover };
    }
    const scenario = await runScenario(ctx, config.SCENARIO);
    await writeReport(dir, scenario, info);
    progress.status("");
    for (const line of summaryLines(dir, scenario)) console.log(line);
    return { dir };
  } finally {
    await Promise.all(Object.values(readers).map((r) => r.close()));
  }
}

if (import.meta.main) {
  runBench().then(
    () => process.exit(0),
    (error: Error) => {
      console.error(`\nbench failed: ${error.message}`);
      process.exit(1);
    },
  );
}
