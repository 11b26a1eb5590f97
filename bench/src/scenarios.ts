import { type CeilingResult, measureParts, pipelineCeiling } from "./ceiling/run.ts";
import type { ScenarioName } from "./config.ts";
import { type PhaseContext, type PhaseResult, type PhaseSpec, runPhase } from "./phase.ts";
import { analyseSoak, type SoakAnalysis } from "./soak.ts";
import { PIPELINES, type PipelineName } from "./stores.ts";

export interface MaxStep {
  ratePerS: number;
  phaseId: string;
  apiKeptUp: boolean;
  sustained: Record<PipelineName, boolean>;
}

export interface MaxSearch {
  /** Messages per request (1: POST /process; more: POST /process/batch). */
  messagesPerRequest: number;
  steps: MaxStep[];
  highest: Record<PipelineName, number | null>;
}

export interface ScenarioResult {
  name: ScenarioName;
  description: string;
  phases: PhaseResult[];
  max?: MaxSearch;
  soak?: SoakAnalysis;
  ceiling?: CeilingResult & { searches: MaxSearch[] };
}

const DESCRIPTIONS: Record<ScenarioName, string> = {
  seed: "The original lab's run: Locust, users posting with a 0.1-0.5 s think time (closed loop).",
  rate: "Open-loop constant rate; HTTP latency counted from each request's scheduled send time.",
  max: "Rate search: the highest rate each pipeline sustains with bounded lag (caught up shortly after the load).",
  replicas: "The same open-loop rate with 1 and then 2 replicas of each consumer.",
  partitions: "The same open-loop rate with a Kafka topic of 1 and then 3 partitions.",
  backlog: "Consumers stopped while the load runs, then started: how fast each pipeline drains the backlog.",
  soak: "A long open-loop run at a set rate: is every process's memory, and each store's memory and key count, flat once the dedup window is full, and within the sizing formula's bound?",
  ceiling:
    "Each broker and each store alone at its ceiling, then each pipeline's highest sustained rate (one message per request, then batches) as a fraction of its slowest part.",
  faults: "Each fault of the fault suite under load (bench/src/faults): loss, double counts and recovery per pipeline.",
  ha: "What durability costs: one node of each broker against three (quorum queue of 3, topic with 3 copies and min.insync.replicas 2), then each node loss of the HA topology under load.",
};

/**
 * Whether a phase's pipeline kept up: the API accepted what was asked of it and the
 * store caught up within a bounded time after the load (lag did not keep growing).
 */
export function sustained(phase: PhaseResult, pipeline: PipelineName): boolean {
  return apiKeptUp(phase) && caughtUpInTime(phase, pipeline);
}

function caughtUpInTime(phase: PhaseResult, pipeline: PipelineName): boolean {
  const after = phase.pipelines[pipeline].caughtUpAfterS;
  return (
    after !== null && after <= Math.max(2, 0.1 * phase.spec.load.durationS) && phase.pipelines[pipeline].lost === 0
  );
}

export function apiKeptUp(phase: PhaseResult): boolean {
  const { load } = phase;
  const target = load.targetRatePerS ?? load.achievedRatePerS;
  return load.failed <= load.sent * 0.001 && load.accepted >= 0.95 * target * load.durationS;
}

export async function runScenario(ctx: PhaseContext, name: ScenarioName): Promise<ScenarioResult> {
  const { config } = ctx;
  const replicas = { rabbitmq: config.BENCH_CONSUMER_REPLICAS, kafka: config.BENCH_CONSUMER_REPLICAS };
  const partitions = config.BENCH_KAFKA_PARTITIONS;
  const rate = (ratePerS: number, durationS = config.DURATION_S) =>
    ({ kind: "vegeta", ratePerS, durationS, messagesPerRequest: config.BATCH_SIZE }) as const;
  const phase = (spec: PhaseSpec) => runPhase(ctx, spec);
  const result: ScenarioResult = { name, description: DESCRIPTIONS[name], phases: [] };

  switch (name) {
    case "seed":
      result.phases.push(
        await phase({
          id: "seed",
          label: "seed (Locust)",
          replicas,
          partitions,
          load: {
            kind: "locust",
            users: config.LOCUST_USERS,
            spawnRate: config.LOCUST_SPAWN_RATE,
            durationS: config.DURATION_S,
          },
        }),
      );
      break;
    case "rate":
      result.phases.push(
        await phase({ id: "rate", label: `rate ${config.RATE}/s`, replicas, partitions, load: rate(config.RATE) }),
      );
      break;
    case "replicas":
      for (const n of [1, 2]) {
        result.phases.push(
          await phase({
            id: `replicas-${n}`,
            label: `${n} replica${n > 1 ? "s" : ""} per consumer`,
            replicas: { rabbitmq: n, kafka: n },
            partitions,
            load: rate(config.RATE),
          }),
        );
      }
      break;
    case "partitions":
      for (const p of [1, 3]) {
        result.phases.push(
          await phase({
            id: `partitions-${p}`,
            label: `Kafka topic with ${p} partition${p > 1 ? "s" : ""}`,
            replicas,
            partitions: p,
            load: rate(config.RATE),
          }),
        );
      }
      break;
    case "backlog":
      result.phases.push(
        await phase({
          id: "backlog",
          label: `backlog ${config.BACKLOG_S ?? config.DURATION_S}s at ${config.RATE}/s`,
          replicas,
          partitions,
          load: rate(config.RATE, config.BACKLOG_S ?? config.DURATION_S),
          consumersStoppedDuringLoad: true,
        }),
      );
      break;
    case "max":
      result.max = await searchMax(ctx, result, { replicas, partitions, messagesPerRequest: config.BATCH_SIZE });
      break;
    case "soak": {
      const soak = await phase({
        id: "soak",
        label: `soak ${config.SOAK_DURATION_S}s at ${config.SOAK_RATE}/s, dedup window ${config.DEDUP_WINDOW_SECONDS}s`,
        replicas,
        partitions,
        load: rate(config.SOAK_RATE, config.SOAK_DURATION_S),
        memorySampleS: config.SOAK_SAMPLE_S,
      });
      result.phases.push(soak);
      result.soak = analyseSoak(soak, config.DEDUP_WINDOW_SECONDS, config.SOAK_FLAT_PCT_PER_HOUR);
      break;
    }
    case "ceiling":
      result.ceiling = await ceiling(ctx, result, replicas, partitions);
      break;
    case "faults":
      throw new Error("the faults scenario has a runner of its own (bench/src/faults/main.ts)");
    case "ha":
      throw new Error("the ha scenario has a runner of its own (bench/src/ha/scenario.ts)");
  }
  return result;
}

/**
 * Each part alone, then the pipelines' max search with one message per request and with
 * CEILING_PIPELINE_BATCH per request (how a pipeline can approach its parts' ceiling).
 */
async function ceiling(
  ctx: PhaseContext,
  result: ScenarioResult,
  replicas: PhaseSpec["replicas"],
  partitions: number,
): Promise<NonNullable<ScenarioResult["ceiling"]>> {
  const parts = await measureParts(ctx);
  const searches: MaxSearch[] = [];
  for (const messagesPerRequest of [1, ctx.config.CEILING_PIPELINE_BATCH]) {
    searches.push(await searchMax(ctx, result, { replicas, partitions, messagesPerRequest }));
  }
  const pipelines = searches.flatMap((search) =>
    PIPELINES.map((p) => pipelineCeiling(parts, p, search.messagesPerRequest, search.highest[p])),
  );
  return { parts, pipelines, searches };
}

/**
 * Doubles the rate until a pipeline (or the API) no longer keeps up, then bisects twice
 * between the last rate that held and the first that did not, as OpenMessaging
 * Benchmark's max-rate search does. Each step is a fresh phase of MAX_STEP_S. `naming` names
 * each step's phase and may add to its spec (the `ha` scenario runs one search per topology).
 */
export async function searchMax(
  ctx: PhaseContext,
  result: ScenarioResult,
  shape: { replicas: PhaseSpec["replicas"]; partitions: number; messagesPerRequest: number },
  naming: { idPrefix: string; labelPrefix: string; extra?: Partial<PhaseSpec> } = { idPrefix: "", labelPrefix: "" },
): Promise<MaxSearch> {
  const { replicas, partitions, messagesPerRequest } = shape;
  const { config } = ctx;
  const steps: MaxStep[] = [];
  const highest: Record<PipelineName, number | null> = { "rabbitmq-valkey": null, "kafka-redis": null };
  const lowestFailed: Record<PipelineName, number | null> = { "rabbitmq-valkey": null, "kafka-redis": null };
  const tryRate = async (ratePerS: number) => {
    const perRequest = messagesPerRequest > 1 ? `-b${messagesPerRequest}` : "";
    const id = `${naming.idPrefix}max${perRequest}-${ratePerS}`;
    const phase = await runPhase(ctx, {
      ...naming.extra,
      id,
      label: `${naming.labelPrefix}max search ${ratePerS}/s${perRequest ? `, ${messagesPerRequest} per request` : ""}`,
      replicas,
      partitions,
      load: { kind: "vegeta", ratePerS, durationS: config.MAX_STEP_S, messagesPerRequest },
    });
    result.phases.push(phase);
    const step: MaxStep = {
      ratePerS,
      phaseId: id,
      apiKeptUp: apiKeptUp(phase),
      sustained: {
        "rabbitmq-valkey": sustained(phase, "rabbitmq-valkey"),
        "kafka-redis": sustained(phase, "kafka-redis"),
      },
    };
    steps.push(step);
    for (const pipeline of PIPELINES) {
      if (step.sustained[pipeline]) highest[pipeline] = Math.max(highest[pipeline] ?? 0, ratePerS);
      else lowestFailed[pipeline] = Math.min(lowestFailed[pipeline] ?? Number.POSITIVE_INFINITY, ratePerS);
    }
    ctx.progress.status(
      `  ${ratePerS}/s: api ${step.apiKeptUp ? "ok" : "behind"}, rabbitmq-valkey ${step.sustained["rabbitmq-valkey"] ? "ok" : "behind"}, kafka-redis ${step.sustained["kafka-redis"] ? "ok" : "behind"}`,
    );
    return step;
  };

  let ratePerS = config.MAX_START_RATE;
  while (ratePerS <= config.MAX_LIMIT_RATE) {
    const step = await tryRate(ratePerS);
    if (PIPELINES.every((p) => !step.sustained[p])) break;
    ratePerS *= 2;
  }
  // Bisect each pipeline's bracket, sharing steps: a step answers for both pipelines.
  for (let round = 0; round < 2; round++) {
    const candidates = new Set<number>();
    for (const pipeline of PIPELINES) {
      const low = highest[pipeline] ?? 0;
      const high = lowestFailed[pipeline];
      if (high !== null && high - low > Math.max(100, 0.1 * high))
        candidates.add(Math.round((low + high) / 2 / 100) * 100);
    }
    for (const candidate of [...candidates].sort((a, b) => a - b)) {
      if (!steps.some((s) => s.ratePerS === candidate) && candidate > 0) await tryRate(candidate);
    }
  }
  return { messagesPerRequest, steps, highest };
}
