import { BrokerAdmin } from "../brokers.ts";
import { HA_FAULT_CASES } from "../faults/cases.ts";
import { faultContext, faultTopology, selectFaults } from "../faults/main.ts";
import { FAULT_PROFILES, type FaultProfile, type FaultResult, faultPassed, runFaultCase } from "../faults/run.ts";
import { type PhaseContext, type PhaseResult, type PhaseSpec, runPhase } from "../phase.ts";
import { type ScenarioResult, searchMax } from "../scenarios.ts";
import { PIPELINES } from "../stores.ts";

export type TopologyName = "single" | "ha";

export interface TopologyResult {
  topology: TopologyName;
  label: string;
  /** The open-loop phase at RATE: latency percentiles and CPU per message. */
  rate: PhaseResult;
  /** The max-rate search (HA_MAX_SEARCH=false skips it). */
  max?: NonNullable<ScenarioResult["max"]>;
}

export interface HaScenarioResult {
  topologies: TopologyResult[];
  /** Every phase run, for the detailed report. */
  phases: PhaseResult[];
  failover: FaultResult[];
  faultProfile: FaultProfile;
}

/** The HA clusters, started (and waited for until whole) if they are not running yet. */
async function ensureHaUp(root: string): Promise<void> {
  const proc = Bun.spawn(["bash", "scripts/services.sh", "up", "rabbitmq", "kafka"], {
    cwd: root,
    env: { ...process.env, TOPOLOGY: "ha" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`starting the HA topology failed:\n${err}`);
}

/**
 * `make bench SCENARIO=ha`: the same pipelines on one node of each broker and on three (a quorum
 * queue of three members; a topic with three copies and min.insync.replicas 2): a phase at RATE
 * (publish and end-to-end latency, CPU per message) and a max-rate search on each, then every
 * node-loss case of the fault suite on the three-node topology (failover times).
 */
export async function runHaScenario(ctx: PhaseContext): Promise<HaScenarioResult> {
  const { config, root } = ctx;
  ctx.progress.status("ha: starting the three-node clusters (TOPOLOGY=ha) if needed");
  await ensureHaUp(root);
  const replicas = { rabbitmq: config.BENCH_CONSUMER_REPLICAS, kafka: config.BENCH_CONSUMER_REPLICAS };
  const partitions = config.BENCH_KAFKA_PARTITIONS;
  const topologies: TopologyResult[] = [];
  const phases: PhaseResult[] = [];
  const contexts: Record<TopologyName, { ctx: PhaseContext; label: string; extra: Partial<PhaseSpec> }> = {
    single: {
      ctx,
      label: "1 node each",
      extra: {},
    },
    ha: {
      ctx: {
        ...ctx,
        config: { ...config, RABBITMQ_URL: config.RABBITMQ_HA_URL, KAFKA_BROKERS: config.KAFKA_HA_BROKERS },
        admin: new BrokerAdmin(config.RABBITMQ_HA_URL, config.KAFKA_HA_BROKERS, config.KAFKA_HA_REPLICATION_FACTOR),
      },
      label: "3 nodes each",
      extra: {
        env: {
          KAFKA_REPLICATION_FACTOR: String(config.KAFKA_HA_REPLICATION_FACTOR),
          RABBITMQ_QUORUM_GROUP_SIZE: String(config.RABBITMQ_HA_QUORUM_GROUP_SIZE),
        },
      },
    },
  };
  for (const topology of ["single", "ha"] as const) {
    const { ctx: tctx, label, extra } = contexts[topology];
    const rate = await runPhase(tctx, {
      ...extra,
      id: `${topology}-rate`,
      label: `${label}: rate ${config.RATE}/s`,
      replicas,
      partitions,
      load: {
        kind: "vegeta",
        ratePerS: config.RATE,
        durationS: config.DURATION_S,
        messagesPerRequest: config.BATCH_SIZE,
      },
    });
    phases.push(rate);
    const result: TopologyResult = { topology, label, rate };
    if (config.HA_MAX_SEARCH) {
      const search: ScenarioResult = { name: "ha", description: "", phases: [] };
      result.max = await searchMax(
        tctx,
        search,
        { replicas, partitions, messagesPerRequest: config.BATCH_SIZE },
        {
          idPrefix: `${topology}-`,
          labelPrefix: `${label}: `,
          extra,
        },
      );
      phases.push(...search.phases);
    }
    topologies.push(result);
  }

  const profile = FAULT_PROFILES[config.FAULT_PROFILE];
  const ha = faultTopology({ ...config, TOPOLOGY: "ha" });
  const failover: FaultResult[] = [];
  for (const fault of selectFaults(config.FAULTS, HA_FAULT_CASES)) {
    const result = await runFaultCase(
      faultContext(config, ha, profile, { root, runId: ctx.runId, runDir: ctx.runDir, progress: ctx.progress }),
      fault,
      profile,
    );
    failover.push(result);
    const counts = PIPELINES.map(
      (p) => `${p} lost ${result.pipelines[p].lost} twice ${result.pipelines[p].countedTwice}`,
    );
    console.log(`  ${fault.id}: ${faultPassed(result) ? "pass" : "FAIL"} | ${counts.join(" | ")}`);
  }
  return { topologies, phases, failover, faultProfile: profile };
}
