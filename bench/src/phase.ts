import { join, resolve } from "node:path";
import type { BrokerAdmin } from "./brokers.ts";
import { type BenchConfig, withDb } from "./config.ts";
import { type Drain, waitForDrain } from "./drain.ts";
import { runLocust } from "./load/locust.ts";
import type { HttpLoadResult } from "./load/summary.ts";
import { runVegeta } from "./load/vegeta.ts";
import { type CumulativeBuckets, histogramBuckets, histogramPercentileMs, metricSum } from "./metrics.ts";
import { serverProcesses } from "./proc.ts";
import type { Progress } from "./progress.ts";
import { type CpuUsage, ProcessWatch, type WatchedProcess, watchChild } from "./resources.ts";
import { CountSampler, countedNow, type MemorySample, MemorySampler, type Sample } from "./sampling.ts";
import { type Source, Stack } from "./stack.ts";
import { PIPELINES, type PipelineName, type StoreReader, type StoreSnapshot } from "./stores.ts";

export type { MemorySample, Sample } from "./sampling.ts";

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
  /** `soak`: sample every process's RSS and each store's memory and keys this often (seconds). */
  memorySampleS?: number;
  /** Settings for the API and consumers on top of the phase's own (e.g. the HA topology's replicas). */
  env?: Record<string, string>;
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
  names: PhaseNames;
  startedAt: string;
  load: HttpLoadResult;
  /** Messages the API accepted in this phase (its own counter; the client's count if unavailable). */
  accepted: number;
  samples: Sample[];
  pipelines: Record<PipelineName, PipelineOutcome>;
  apiMetrics: ApiCounters;
  /** The API's own view of the same requests (server side: no client or kernel queueing). */
  apiLatency?: ApiLatency;
  /** Seconds the load ran (wall clock). */
  loadWallS: number;
  /** CPU of every process from the start of the load until both stores caught up, per accepted message. */
  cpu: CpuUsage;
  /** `soak` only: memory over time, from the start of the load. */
  memory?: MemorySample[];
  /** Set when a store's count went down during the phase: something else cleared the bench's DB. */
  disturbed?: string;
}

export interface PhaseNames {
  queue: string;
  topic: string;
  group: string;
  valkeyUrl: string;
  redisUrl: string;
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

interface ApiCounters {
  acceptedTotal: number | null;
  partialPublishes: number | null;
}

/** Where an HTTP request's time goes inside the API: the whole request, and each broker's confirmation. */
export type ApiLatencyPart = "request" | "rabbitmq" | "kafka";
/** Percentiles (ms, bucket upper bounds) of the API's own histograms over the measured load. */
export type ApiLatency = Record<ApiLatencyPart, { p50: number | null; p99: number | null }>;
type ApiHistograms = Record<ApiLatencyPart, CumulativeBuckets | null>;

/**
 * One measured phase: its own queue, topic, group and cleared store DBs; a fresh API
 * and consumers; the load; then waiting until both stores have counted what the API
 * accepted (or stopped making progress); then the stores' exact figures, and what every
 * process spent in CPU meanwhile.
 */
export async function runPhase(ctx: PhaseContext, spec: PhaseSpec): Promise<PhaseResult> {
  const names = phaseNames(ctx, spec);
  const phaseDir = join(ctx.runDir, "phases", spec.id);
  await ctx.admin.createTopic(names.topic, spec.partitions);
  await Promise.all(PIPELINES.map((p) => ctx.readers[p].reset()));
  const stack = new Stack({
    root: ctx.root,
    logDir: join(phaseDir, "logs"),
    apiPort: ctx.config.BENCH_API_PORT,
    consumerBasePort: ctx.config.BENCH_CONSUMER_BASE_PORT,
    replicas: spec.replicas,
    env: stackEnv(ctx.config, spec, names),
  });
  const startedAt = new Date().toISOString();
  let samplers: { counts: CountSampler; memory?: MemorySampler } | undefined;
  try {
    ctx.progress.status(`${spec.label}: starting API and ${spec.replicas.rabbitmq}+${spec.replicas.kafka} consumers`);
    await stack.start();
    await warmUp(ctx, stack.apiUrl, phaseDir);
    if (spec.consumersStoppedDuringLoad) await stack.stopConsumers();

    // The API's counters are cumulative (warm-up included): the phase's share is after - before.
    const before = await apiCounters(stack.apiUrl);
    const histogramsBefore = await apiHistograms(stack.apiUrl);
    const watch = new ProcessWatch(() => [...serverWatch(ctx), ...stack.processes()]);
    watch.start();
    samplers = startSamplers(ctx, spec, stack, before, watch);
    const load = await runLoad(ctx, spec.load, stack.apiUrl, phaseDir, watch);
    samplers.counts.loadDone = true;
    const loadWallS = samplers.counts.elapsedS();
    const apiMetrics = since(before, await apiCounters(stack.apiUrl));
    const apiLatency = latencyBetween(histogramsBefore, await apiHistograms(stack.apiUrl));
    // The API's count is the reference: a closed-loop client (Locust) stops with requests
    // in flight that the API accepted but the client never saw answered.
    const accepted = apiMetrics.acceptedTotal ?? load.accepted;
    const { drain, backlogAtStart } = await drainStores(ctx, spec, stack, accepted);
    await stopSamplers(samplers);
    const cpu = watch.finish(accepted);
    const pipelines = await pipelineOutcomes(ctx, accepted, drain, backlogAtStart);
    await Promise.all(PIPELINES.map((p) => ctx.readers[p].forgetDedupState()));
    return {
      spec,
      names,
      startedAt,
      load,
      accepted,
      samples: samplers.counts.samples,
      pipelines,
      apiMetrics,
      apiLatency,
      loadWallS,
      cpu,
      ...(samplers.memory ? { memory: samplers.memory.samples } : {}),
      ...(samplers.counts.disturbed ? { disturbed: samplers.counts.disturbed } : {}),
    };
  } finally {
    if (samplers) await stopSamplers(samplers);
    await stack.close();
    await ctx.admin.deleteTopics(names.topic).catch(() => undefined);
    await ctx.admin.deleteQueues(names.queue).catch(() => undefined);
  }
}

/** The phase's own queue, topic and group (named after the run, so never someone else's) and the bench's store DBs. */
function phaseNames(ctx: PhaseContext, spec: PhaseSpec): PhaseNames {
  const name = `bench-${ctx.runId}-${spec.id}`;
  return {
    queue: name,
    topic: name,
    group: name,
    valkeyUrl: withDb(ctx.config.VALKEY_URL, ctx.config.BENCH_VALKEY_DB),
    redisUrl: withDb(ctx.config.REDIS_URL, ctx.config.BENCH_REDIS_DB),
  };
}

/** What every process of the phase's stack is given. */
function stackEnv(config: Readonly<BenchConfig>, spec: PhaseSpec, names: PhaseNames): Record<string, string> {
  return {
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
    // The consumers run with the window they are deployed with (the soak varies it).
    DEDUP_WINDOW_SECONDS: String(config.DEDUP_WINDOW_SECONDS),
    ...spec.env,
  };
}

/** The brokers and stores of this checkout (their pid files), for CPU and memory accounting. */
export function serverWatch(ctx: Pick<PhaseContext, "root" | "config">): WatchedProcess[] {
  return serverProcesses(resolve(ctx.root, ctx.config.STATE_DIR));
}

/** The API's /metrics text ("" if it does not answer: every figure read from it is then null). */
async function scrapeApi(apiUrl: string): Promise<string> {
  try {
    return await (await fetch(`${apiUrl}/metrics`)).text();
  } catch {
    return "";
  }
}

async function apiCounters(apiUrl: string): Promise<ApiCounters> {
  const text = await scrapeApi(apiUrl);
  return {
    acceptedTotal: metricSum(text, "api_messages_accepted_total"),
    partialPublishes: metricSum(text, "api_partial_publishes_total"),
  };
}

async function apiHistograms(apiUrl: string): Promise<ApiHistograms> {
  const text = await scrapeApi(apiUrl);
  return {
    request: histogramBuckets(text, "api_http_request_duration_seconds", { route: "/process" }),
    rabbitmq: histogramBuckets(text, "api_broker_publish_duration_seconds", { broker: "rabbitmq" }),
    kafka: histogramBuckets(text, "api_broker_publish_duration_seconds", { broker: "kafka" }),
  };
}

function latencyBetween(before: ApiHistograms, after: ApiHistograms): ApiLatency {
  const part = (name: ApiLatencyPart) => ({
    p50: histogramPercentileMs(before[name], after[name], 50),
    p99: histogramPercentileMs(before[name], after[name], 99),
  });
  return { request: part("request"), rabbitmq: part("rabbitmq"), kafka: part("kafka") };
}

function since(before: ApiCounters, after: ApiCounters): ApiCounters {
  const delta = (value: number | null, base: number | null) => (value === null ? null : value - (base ?? 0));
  return {
    acceptedTotal: delta(after.acceptedTotal, before.acceptedTotal),
    partialPublishes: delta(after.partialPublishes, before.partialPublishes),
  };
}

function startSamplers(
  ctx: PhaseContext,
  spec: PhaseSpec,
  stack: Stack,
  before: ApiCounters,
  watch: ProcessWatch,
): { counts: CountSampler; memory?: MemorySampler } {
  const acceptedNow = async () => since(before, await apiCounters(stack.apiUrl)).acceptedTotal;
  const counts = new CountSampler(ctx.readers, acceptedNow, ctx.progress, spec.label, spec.load.durationS);
  if (!spec.memorySampleS) return { counts };
  return { counts, memory: new MemorySampler(ctx.readers, watch, spec.memorySampleS) };
}

async function stopSamplers(samplers: { counts: CountSampler; memory?: MemorySampler }): Promise<void> {
  await Promise.all([samplers.counts.stop(), samplers.memory?.stop()]);
}

/**
 * After the load: waits until both stores have counted what the API accepted. Backlog: the
 * consumers start now; polling starts before they do, so the first message counted is seen.
 */
async function drainStores(
  ctx: PhaseContext,
  spec: PhaseSpec,
  stack: Stack,
  accepted: number,
): Promise<{ drain: Drain; backlogAtStart?: Record<PipelineName, number> }> {
  const backlogAtStart = spec.consumersStoppedDuringLoad ? await countedNow(ctx.readers) : undefined;
  const draining = waitForDrain(ctx, accepted, performance.now());
  if (spec.consumersStoppedDuringLoad) await stack.startConsumers();
  return { drain: await draining, ...(backlogAtStart ? { backlogAtStart } : {}) };
}

/** Each store's exact figures against what the API accepted. */
async function pipelineOutcomes(
  ctx: PhaseContext,
  accepted: number,
  drain: Drain,
  backlogAtStart: Record<PipelineName, number> | undefined,
): Promise<Record<PipelineName, PipelineOutcome>> {
  const pipelines = {} as Record<PipelineName, PipelineOutcome>;
  for (const pipeline of PIPELINES) {
    const snapshot = await ctx.readers[pipeline].snapshot();
    pipelines[pipeline] = {
      snapshot,
      counted: snapshot.total,
      lost: Math.max(0, accepted - snapshot.total),
      extra: Math.max(0, snapshot.total - accepted),
      caughtUpAfterS: drain.caughtUpAfterS[pipeline],
      ...(backlogAtStart ? { backlog: backlogOutcome(accepted - backlogAtStart[pipeline], drain, pipeline) } : {}),
    };
  }
  return pipelines;
}

function backlogOutcome(messages: number, drain: Drain, pipeline: PipelineName): PipelineOutcome["backlog"] {
  const first = drain.firstProgressAfterS[pipeline];
  const done = drain.caughtUpAfterS[pipeline];
  // From the first message counted to the last: consumer start-up is not drain time.
  const seconds = first !== null && done !== null ? done - first : null;
  return { messages, drainRatePerS: seconds !== null && seconds > 0 ? messages / seconds : null, startupS: first };
}

async function runLoad(
  ctx: PhaseContext,
  load: LoadSpec,
  apiUrl: string,
  phaseDir: string,
  watch: ProcessWatch,
): Promise<HttpLoadResult> {
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
      onSpawn: (child) => watchChild(watch, "locust", child),
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
    onSpawn: (child) => watchChild(watch, "vegeta", child),
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
