import { join } from "node:path";
import type { BrokerAdmin } from "./brokers.ts";
import { type BenchConfig, withDb } from "./config.ts";
import { cpuByGroup, cpuSpent } from "./cpu.ts";
import { runLocust } from "./load/locust.ts";
import type { HttpLoadResult } from "./load/summary.ts";
import { runVegeta } from "./load/vegeta.ts";
import { metricSum } from "./metrics.ts";
import type { Progress } from "./progress.ts";
import { type Source, Stack } from "./stack.ts";
import { PIPELINES, type PipelineName, type StoreReader, type StoreSnapshot } from "./stores.ts";

export type LoadSpec =
  | { kind: "vegeta"; ratePerS: number; durationS: number; messagesPerRequest: number }
  | { kind: "locust"; users: number; spawnRate: number; durationS: number };

export interface PhaseSpec {
  /** Short, unique within the run, safe in broker names (e.g. "replicas-1"). */
  id: string;
  label: string;
  replicas: Record<Source, number>;
  partitions: number;
  load: LoadSpec;
  /** `backlog`: consumers are stopped while the load runs and started after it. */
  consumersStoppedDuringLoad?: boolean;
  /** Settings for the API and consumers on top of the phase's own (e.g. the HA topology's replicas). */
  env?: Record<string, string>;
  /**
   * The servers' pids by group (e.g. "rabbitmq": the nodes' pid files), when the phase should
   * report CPU time: theirs and the API's and consumers', from the load's start until both stores
   * caught up.
   */
  serverPids?: () => Record<string, number[]>;
}

export interface Sample {
  /** Seconds since the load started. */
  t: number;
  apiAccepted: number | null;
  counted: Record<PipelineName, number>;
}

export interface PipelineOutcome {
  snapshot: StoreSnapshot;
  counted: number;
  /** accepted - counted when positive: accepted by the API, never counted (`accepted` is the phase's). */
  lost: number;
  /** counted - accepted when positive (e.g. a message one broker took before a 503). */
  extra: number;
  /** Seconds from the end of the load (backlog: from starting the consumers) until counted >= accepted. */
  caughtUpAfterS: number | null;
  /** backlog only: messages waiting when the consumers started, how fast they went once counting began, and how long that took. */
  backlog?: { messages: number; drainRatePerS: number | null; startupS: number | null };
}

export interface PhaseResult {
  spec: PhaseSpec;
  names: { queue: string; topic: string; group: string; valkeyUrl: string; redisUrl: string };
  startedAt: string;
  load: HttpLoadResult;
  /** Messages the API accepted in this phase (its own counter; the client's count if unavailable). */
  accepted: number;
  samples: Sample[];
  pipelines: Record<PipelineName, PipelineOutcome>;
  apiMetrics: { acceptedTotal: number | null; partialPublishes: number | null };
  /** Seconds the load ran (wall clock). */
  loadWallS: number;
  /** Set when a store's count went down during the phase: something else cleared the bench's DB. */
  disturbed?: string;
  /** CPU seconds by process group from the load's start until both stores caught up (spec.serverPids). */
  cpuSeconds?: Record<string, number>;
}

export interface PhaseContext {
  root: string;
  runId: string;
  runDir: string;
  config: Readonly<BenchConfig>;
  readers: Record<PipelineName, StoreReader>;
  admin: BrokerAdmin;
  progress: Progress;
}

// Store polls while draining: fine enough to time a drain of a few seconds.
const POLL_MS = 100;

async function apiMetrics(apiUrl: string): Promise<PhaseResult["apiMetrics"]> {
  try {
    const text = await (await fetch(`${apiUrl}/metrics`)).text();
    return {
      acceptedTotal: metricSum(text, "api_messages_accepted_total"),
      partialPublishes: metricSum(text, "api_partial_publishes_total"),
    };
  } catch {
    return { acceptedTotal: null, partialPublishes: null };
  }
}

async function countedNow(readers: PhaseContext["readers"]): Promise<Record<PipelineName, number>> {
  const [valkey, redis] = await Promise.all(PIPELINES.map((p) => readers[p].total()));
  return { "rabbitmq-valkey": valkey ?? 0, "kafka-redis": redis ?? 0 };
}

/**
 * One measured phase: its own queue, topic, group and cleared store DBs; a fresh API
 * and consumers; the load; then waiting until both stores have counted what the API
 * accepted (or stopped making progress); then the stores' exact figures.
 */
export async function runPhase(ctx: PhaseContext, spec: PhaseSpec): Promise<PhaseResult> {
  const { config } = ctx;
  const name = `bench-${ctx.runId}-${spec.id}`;
  const names = {
    queue: name,
    topic: name,
    group: name,
    valkeyUrl: withDb(config.VALKEY_URL, config.BENCH_VALKEY_DB),
    redisUrl: withDb(config.REDIS_URL, config.BENCH_REDIS_DB),
  };
  const phaseDir = join(ctx.runDir, "phases", spec.id);
  await ctx.admin.createTopic(names.topic, spec.partitions);
  await Promise.all(PIPELINES.map((p) => ctx.readers[p].reset()));
  const stack = new Stack({
    root: ctx.root,
    logDir: join(phaseDir, "logs"),
    apiPort: config.BENCH_API_PORT,
    consumerBasePort: config.BENCH_CONSUMER_BASE_PORT,
    replicas: spec.replicas,
    env: {
      RABBITMQ_URL: config.RABBITMQ_URL,
      KAFKA_BROKERS: config.KAFKA_BROKERS,
      RABBITMQ_QUEUE: names.queue,
      KAFKA_TOPIC: names.topic,
      KAFKA_TOPIC_PARTITIONS: String(spec.partitions),
      KAFKA_GROUP_ID: names.group,
      VALKEY_URL: names.valkeyUrl,
      REDIS_URL: names.redisUrl,
      // The consumers' own setting would otherwise override the URL above.
      STORE_URL: "",
      // A phase lasts minutes; the default day of dedup keys would only fill the store.
      DEDUP_TTL_SECONDS: "3600",
      ...spec.env,
    },
  });
  const startedAt = new Date().toISOString();
  const samples: Sample[] = [];
  let sampling: ReturnType<typeof setInterval> | undefined;
  try {
    ctx.progress.status(`${spec.label}: starting API and ${spec.replicas.rabbitmq}+${spec.replicas.kafka} consumers`);
    await stack.start();
    await warmUp(ctx, stack.apiUrl, phaseDir);
    if (spec.consumersStoppedDuringLoad) await stack.stopConsumers();

    // The API's counters are cumulative (warm-up included): report this phase's share.
    const before = await apiMetrics(stack.apiUrl);
    const sinceStart = (value: number | null, base: number | null) => (value === null ? null : value - (base ?? 0));
    const cpuGroups = () => ({ ...spec.serverPids?.(), ...stack.pids() });
    const cpuBefore = spec.serverPids ? cpuByGroup(cpuGroups()) : undefined;
    const loadStart = performance.now();
    const elapsedS = () => (performance.now() - loadStart) / 1000;
    let loadDone = false;
    let disturbed: string | undefined;
    sampling = setInterval(async () => {
      const [counted, metrics] = await Promise.all([countedNow(ctx.readers), apiMetrics(stack.apiUrl)]);
      const t = elapsedS();
      const previous = samples.at(-1);
      for (const pipeline of PIPELINES) {
        if (previous && counted[pipeline] < previous.counted[pipeline]) {
          disturbed ??= `${pipeline} count fell from ${previous.counted[pipeline]} to ${counted[pipeline]} at ${t.toFixed(1)} s: another process cleared the bench's store DB; this phase's counts are not valid`;
        }
      }
      samples.push({ t, apiAccepted: sinceStart(metrics.acceptedTotal, before.acceptedTotal), counted });
      ctx.progress.line(
        `${spec.label} ${loadDone ? "drain" : "load"} ${t.toFixed(0)}s/${spec.load.durationS}s  accepted=${
          sinceStart(metrics.acceptedTotal, before.acceptedTotal) ?? "?"
        }  valkey=${counted["rabbitmq-valkey"]}  redis=${counted["kafka-redis"]}`,
      );
    }, 1000);

    const load = await runLoad(ctx, spec.load, stack.apiUrl, phaseDir);
    loadDone = true;
    const loadWallS = elapsedS();
    const after = await apiMetrics(stack.apiUrl);
    const metrics = {
      acceptedTotal: sinceStart(after.acceptedTotal, before.acceptedTotal),
      partialPublishes: sinceStart(after.partialPublishes, before.partialPublishes),
    };

    const backlogAtStart = spec.consumersStoppedDuringLoad ? await countedNow(ctx.readers) : undefined;
    // Polling starts before the consumers do, so the first message they count is seen.
    // The API's count is the reference: a closed-loop client (Locust) stops with requests
    // in flight that the API accepted but the client never saw answered.
    const accepted = metrics.acceptedTotal ?? load.accepted;
    const draining = waitForDrain(ctx, accepted, performance.now());
    if (spec.consumersStoppedDuringLoad) await stack.startConsumers();
    const drain = await draining;
    const cpuSeconds = cpuBefore ? cpuSpent(cpuBefore, cpuByGroup(cpuGroups())) : undefined;
    clearInterval(sampling);
    sampling = undefined;

    const pipelines = {} as Record<PipelineName, PipelineOutcome>;
    for (const pipeline of PIPELINES) {
      const snapshot = await ctx.readers[pipeline].snapshot();
      const outcome: PipelineOutcome = {
        snapshot,
        counted: snapshot.total,
        lost: Math.max(0, accepted - snapshot.total),
        extra: Math.max(0, snapshot.total - accepted),
        caughtUpAfterS: drain.caughtUpAfterS[pipeline],
      };
      if (backlogAtStart) {
        const messages = accepted - backlogAtStart[pipeline];
        const first = drain.firstProgressAfterS[pipeline];
        const done = drain.caughtUpAfterS[pipeline];
        // From the first message counted to the last: consumer start-up is not drain time.
        const seconds = first !== null && done !== null ? done - first : null;
        outcome.backlog = {
          messages,
          drainRatePerS: seconds !== null && seconds > 0 ? messages / seconds : null,
          startupS: first,
        };
      }
      pipelines[pipeline] = outcome;
    }
    return {
      spec,
      names,
      startedAt,
      load,
      accepted,
      samples,
      pipelines,
      apiMetrics: metrics,
      loadWallS,
      disturbed,
      cpuSeconds,
    };
  } finally {
    if (sampling) clearInterval(sampling);
    await stack.close();
    await ctx.admin.deleteTopics(names.topic).catch(() => undefined);
    await ctx.admin.deleteQueues(names.queue).catch(() => undefined);
  }
}

async function runLoad(ctx: PhaseContext, load: LoadSpec, apiUrl: string, phaseDir: string): Promise<HttpLoadResult> {
  if (load.kind === "locust") {
    return runLocust({
      bin: join(ctx.root, ctx.config.LOCUST_BIN),
      locustfile: join(ctx.root, "locust/locustfile.py"),
      host: apiUrl,
      users: load.users,
      spawnRate: load.spawnRate,
      durationS: load.durationS,
      jsonPrefix: join(phaseDir, "locust"),
      logFile: join(phaseDir, "logs", "locust.log"),
    });
  }
  return runVegeta({
    bin: join(ctx.root, ctx.config.VEGETA_BIN),
    url: `${apiUrl}/process`,
    ratePerS: load.ratePerS,
    durationS: load.durationS,
    messagesPerRequest: load.messagesPerRequest,
    maxWorkers: ctx.config.LOAD_MAX_WORKERS,
    filePrefix: join(phaseDir, "vegeta-"),
  });
}

/**
 * A few seconds of light load before measuring: fresh processes are still compiling
 * their hot paths and opening connections, which would show up as a latency spike
 * that says nothing about the pipelines. Counts are cleared once both stores caught up.
 */
async function warmUp(ctx: PhaseContext, apiUrl: string, phaseDir: string): Promise<void> {
  if (ctx.config.WARMUP_S === 0) return;
  ctx.progress.status(`  warming up for ${ctx.config.WARMUP_S}s`);
  const load = await runVegeta({
    bin: join(ctx.root, ctx.config.VEGETA_BIN),
    url: `${apiUrl}/process`,
    ratePerS: ctx.config.WARMUP_RATE,
    durationS: ctx.config.WARMUP_S,
    maxWorkers: ctx.config.LOAD_MAX_WORKERS,
    filePrefix: join(phaseDir, "warmup-"),
  });
  await waitForDrain(ctx, load.accepted, performance.now());
  await Promise.all(PIPELINES.map((p) => ctx.readers[p].reset()));
}

interface Drain {
  /** Seconds from `fromMs` until a store had counted everything accepted (null: never). */
  caughtUpAfterS: Record<PipelineName, number | null>;
  /** Seconds from `fromMs` to the last poll before a store's count first moved (null: never). */
  firstProgressAfterS: Record<PipelineName, number | null>;
}

/** Polls both stores until each has counted `accepted`, or stalls, or the timeout passes. */
async function waitForDrain(ctx: PhaseContext, accepted: number, fromMs: number): Promise<Drain> {
  const caughtUp: Record<PipelineName, number | null> = { "rabbitmq-valkey": null, "kafka-redis": null };
  const firstProgress: Record<PipelineName, number | null> = { "rabbitmq-valkey": null, "kafka-redis": null };
  const initial = await countedNow(ctx.readers);
  let last = initial;
  // A store's first count happened after the previous poll: taking that poll's time makes
  // a drain rate a lower bound, accurate to one poll interval.
  let previousPollMs = performance.now();
  let lastProgressMs = performance.now();
  const deadline = fromMs + ctx.config.DRAIN_TIMEOUT_S * 1000;
  while (performance.now() < deadline) {
    const counted = await countedNow(ctx.readers);
    const now = performance.now();
    for (const pipeline of PIPELINES) {
      if (firstProgress[pipeline] === null && counted[pipeline] !== initial[pipeline]) {
        firstProgress[pipeline] = (previousPollMs - fromMs) / 1000;
      }
      if (caughtUp[pipeline] === null && counted[pipeline] >= accepted) caughtUp[pipeline] = (now - fromMs) / 1000;
    }
    if (PIPELINES.every((p) => caughtUp[p] !== null)) break;
    if (PIPELINES.some((p) => counted[p] !== last[p])) lastProgressMs = now;
    else if (now - lastProgressMs > ctx.config.DRAIN_STALL_S * 1000) break;
    last = counted;
    previousPollMs = now;
    await Bun.sleep(POLL_MS);
  }
  return { caughtUpAfterS: caughtUp, firstProgressAfterS: firstProgress };
}
