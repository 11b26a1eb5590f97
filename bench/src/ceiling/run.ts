import type { PhaseContext } from "../phase.ts";
import { serverWatch } from "../phase.ts";
import { type CpuUsage, ProcessWatch } from "../resources.ts";
import type { PipelineName } from "../stores.ts";
import { type Broker, consumeAlone, countAlone, partEnv, publishAlone, type Throughput } from "./parts.ts";

export type Component = "rabbitmq" | "kafka" | "valkey" | "redis";

/** One part of a pipeline measured alone, at its own ceiling. */
export interface CeilingPart {
  /** "rabbitmq-publish", "kafka-consume", "valkey-count-500", ... */
  id: string;
  component: Component;
  /** What was measured, in a sentence. */
  what: string;
  messages: number;
  seconds: number;
  ratePerS: number;
  /** CPU of the servers and of the bench (the client) over the part, per message. */
  cpu: CpuUsage;
}

/** A pipeline's highest sustained rate against the slowest of its parts. */
export interface PipelineCeiling {
  pipeline: PipelineName;
  /** Messages per request of the max search (1: POST /process; more: POST /process/batch). */
  messagesPerRequest: number;
  highestRatePerS: number | null;
  slowestPart: string;
  slowestRatePerS: number;
  /** highest / slowest part; null when no rate held. */
  fraction: number | null;
}

export interface CeilingResult {
  parts: CeilingPart[];
  pipelines: PipelineCeiling[];
}

/** The parts each pipeline is made of: its broker's publish and consume, and its store's count. */
export const PIPELINE_PARTS: Record<PipelineName, { broker: Broker; store: Component }> = {
  "rabbitmq-valkey": { broker: "rabbitmq", store: "valkey" },
  "kafka-redis": { broker: "kafka", store: "redis" },
};

async function measure(
  ctx: PhaseContext,
  part: Omit<CeilingPart, "messages" | "seconds" | "ratePerS" | "cpu">,
  run: () => Promise<Throughput>,
): Promise<CeilingPart> {
  ctx.progress.status(`  ${part.id}: ${part.what}`);
  const watch = new ProcessWatch(() => [
    ...serverWatch(ctx),
    { name: "bench (in-process client)", role: "load generator", pid: process.pid },
  ]);
  watch.start();
  const { messages, seconds } = await run();
  const result = {
    ...part,
    messages,
    seconds,
    ratePerS: seconds > 0 ? messages / seconds : 0,
    cpu: watch.finish(messages),
  };
  ctx.progress.status(
    `  ${part.id}: ${messages} messages in ${seconds.toFixed(2)} s = ${Math.round(result.ratePerS)}/s`,
  );
  return result;
}

/** Each broker alone: publish for CEILING_PART_S at CEILING_CONCURRENCY in flight, then consume all of it. */
async function brokerParts(ctx: PhaseContext, broker: Broker): Promise<CeilingPart[]> {
  const { config } = ctx;
  const name = `bench-${ctx.runId}-ceiling-${broker}`;
  const env = partEnv(ctx, name);
  await ctx.admin.createTopic(name, config.BENCH_KAFKA_PARTITIONS);
  try {
    const publish = await measure(
      ctx,
      {
        id: `${broker}-publish`,
        component: broker,
        what: `${broker === "rabbitmq" ? "persistent publishes with confirms" : "acks=all idempotent produce"} through the API's publisher, ${config.CEILING_CONCURRENCY} single-message publishes in flight, for ${config.CEILING_PART_S} s`,
      },
      () => publishAlone(broker, env, config.CEILING_PART_S, config.CEILING_CONCURRENCY),
    );
    const consume = await measure(
      ctx,
      {
        id: `${broker}-consume`,
        component: broker,
        what: `the ${publish.messages} messages consumed with the consumers' source and acknowledged in batches, no store (first delivery to last ${broker === "rabbitmq" ? "ack" : "commit"})`,
      },
      () => consumeAlone(broker, env, publish.messages, config.DRAIN_TIMEOUT_S),
    );
    return [publish, consume];
  } finally {
    await ctx.admin.deleteTopics(name).catch(() => undefined);
    await ctx.admin.deleteQueues(name).catch(() => undefined);
  }
}

/** Each store alone: the count script through CountStore, per batch size, checked exact against the store. */
async function storeParts(ctx: PhaseContext, pipeline: PipelineName): Promise<CeilingPart[]> {
  const { config } = ctx;
  const { broker, store } = PIPELINE_PARTS[pipeline];
  const reader = ctx.readers[pipeline];
  const lanes = config.BENCH_CONSUMER_REPLICAS;
  const parts: CeilingPart[] = [];
  for (const batch of config.CEILING_STORE_BATCHES.split(",").map(Number)) {
    await reader.reset();
    const env = partEnv(ctx, `bench-${ctx.runId}-ceiling-${store}`, { STORE_URL: reader.url });
    const part = await measure(
      ctx,
      {
        id: `${store}-count-${batch}`,
        component: store,
        what: `fresh messages counted by the count script through CountStore, ${batch} per call, ${lanes} connections one call at a time each, for ${config.CEILING_PART_S} s`,
      },
      () => countAlone(broker, env, batch, config.CEILING_PART_S, lanes),
    );
    const stored = await reader.total();
    if (stored !== part.messages) {
      throw new Error(`${part.id}: the count script reported ${part.messages} counted, the store holds ${stored}`);
    }
    parts.push(part);
  }
  await reader.reset();
  return parts;
}

/** Every part of both pipelines, alone, one after the other. */
export async function measureParts(ctx: PhaseContext): Promise<CeilingPart[]> {
  ctx.progress.status("ceiling: each part alone");
  return [
    ...(await brokerParts(ctx, "rabbitmq")),
    ...(await brokerParts(ctx, "kafka")),
    ...(await storeParts(ctx, "rabbitmq-valkey")),
    ...(await storeParts(ctx, "kafka-redis")),
  ];
}

/** A pipeline's highest sustained rate as a fraction of its slowest part (the store at its best batch size). */
export function pipelineCeiling(
  parts: readonly CeilingPart[],
  pipeline: PipelineName,
  messagesPerRequest: number,
  highestRatePerS: number | null,
): PipelineCeiling {
  const { broker, store } = PIPELINE_PARTS[pipeline];
  const bestStore = parts
    .filter((p) => p.component === store)
    .reduce<CeilingPart | undefined>((best, p) => (best && best.ratePerS >= p.ratePerS ? best : p), undefined);
  const own = [
    ...parts.filter((p) => p.id === `${broker}-publish` || p.id === `${broker}-consume`),
    ...(bestStore ? [bestStore] : []),
  ];
  const slowest = own.reduce((a, b) => (b.ratePerS < a.ratePerS ? b : a));
  return {
    pipeline,
    messagesPerRequest,
    highestRatePerS,
    slowestPart: slowest.id,
    slowestRatePerS: slowest.ratePerS,
    fraction: highestRatePerS === null || slowest.ratePerS <= 0 ? null : highestRatePerS / slowest.ratePerS,
  };
}
