import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadBenchConfig } from "../../bench/src/config.ts";
import { HA_FAULT_CASES } from "../../bench/src/faults/cases.ts";
import { faultContext, faultTopology, selectFaults } from "../../bench/src/faults/main.ts";
import { writeFaultReport } from "../../bench/src/faults/report.ts";
import { FAULT_PROFILES, type FaultResult, runFaultCase } from "../../bench/src/faults/run.ts";
import { Progress } from "../../bench/src/progress.ts";
import { collectRunInfo } from "../../bench/src/report/run-info.ts";
import { haTopology, kafkaProblems, rabbitmqProblems } from "../../scripts/ha/cluster.ts";
import { ROOT } from "../support/index.ts";
import { expectExactlyOnce } from "./verdict.ts";

/**
 * The HA topology's short fault suite (`make chaos TOPOLOGY=ha` runs it at full length): the three-node
 * clusters come up natively (scripts/services.sh, TOPOLOGY=ha), then a node of each broker is lost
 * under load through `make dev`'s own scripts and brought back by the suite, as a platform would.
 * For every case and both stores: nothing acknowledged is lost, nothing is counted twice, the client
 * got every message accepted in the end (503s retried with the same id), the stores agree, the
 * brokers hold nothing once the consumers have stopped, and every service is ready again within
 * 60 s. HA_FAULTS picks the cases (ids, comma-separated, or "all"); the report's path is printed.
 */
const config = loadBenchConfig({
  ...process.env,
  SCENARIO: "faults",
  FAULT_PROFILE: "short",
  TOPOLOGY: "ha",
  BENCH_PROGRESS: "false",
});
const profile = FAULT_PROFILES.short;
const runId = `h${Date.now().toString(36)}`;
const dir = mkdtempSync(join(tmpdir(), "weather-faults-ha-"));
const topology = faultTopology(config);
const cases = selectFaults(process.env.HA_FAULTS ?? "all", HA_FAULT_CASES);
const results: FaultResult[] = [];

function services(...args: string[]): void {
  const run = Bun.spawnSync(["bash", "scripts/services.sh", ...args], {
    cwd: ROOT,
    env: { ...process.env, TOPOLOGY: "ha" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (run.exitCode !== 0) throw new Error(`services.sh ${args.join(" ")} failed:\n${run.stderr.toString()}`);
}

beforeAll(() => {
  // Only the brokers: the stores are the single topology's, already up.
  services("up", "rabbitmq", "kafka");
}, 300_000);

afterAll(async () => {
  // A cut must never outlive the suite, whatever failed; then the clusters go, to free the machine.
  services("heal");
  services("down", "rabbitmq", "kafka");
  const info = await collectRunInfo(ROOT, runId, config);
  await writeFaultReport(dir, results, profile, info, "bun test test/faults/ha.test.ts (FAULT_PROFILE=short)");
  console.log(`HA fault suite report: ${join(dir, "report.md")}`);
}, 120_000);

test("the HA topology is up and whole: three RabbitMQ nodes in one cluster, three Kafka brokers and controllers", async () => {
  const ha = haTopology();
  expect(await rabbitmqProblems(ha)).toEqual([]);
  expect(await kafkaProblems(ha)).toEqual([]);
});

describe.each(cases.map((fault) => ({ ...fault, fault })))("$id: $title", ({ fault }) => {
  test("nothing lost, nothing counted twice, every message accepted in the end, stores equal, ready again", async () => {
    const result = await runFaultCase(
      faultContext(config, topology, profile, { root: ROOT, runId, runDir: dir, progress: new Progress(false) }),
      fault,
      profile,
    );
    results.push(result);
    expectExactlyOnce(result, profile.ratePerS * topology.loadS(profile));
  }, 300_000);
});
