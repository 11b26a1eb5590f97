import { join } from "node:path";
import { sleep, waitFor } from "@weather/async";
import { countedIds, readSnapshot, resetStore, type StoreSnapshot } from "@weather/store";
import Valkey from "iovalkey";
import type { BrokerAdmin } from "../brokers.ts";
import { withDb } from "../config.ts";
import { metricSum } from "../metrics.ts";
import type { Progress } from "../progress.ts";
import { PIPELINES, type PipelineName } from "../stores.ts";
import type { FaultCase, FaultTiming } from "./cases.ts";
import { ChaosClient } from "./client.ts";
import { DevStack } from "./dev-stack.ts";

/** How long and how hard each case runs. `short` is the version `make test` runs. */
export interface FaultProfile {
  ratePerS: number;
  loadS: number;
  /**
   * Load of the HA topology's cases: long enough in the full profile for load to go on well past
   * the longest fault (a 30 s cut), so that the time to full rate is measured, not cut short.
   */
  haLoadS: number;
  /** When the fault starts, into the load. */
  faultAtS: number;
  timing: FaultTiming;
  /** How long the client keeps retrying an id after the load. */
  retryForS: number;
  /** Bound on each wait after the load (repairs, catching up, readiness). */
  settleTimeoutS: number;
  /** Settings for the processes, on top of the defaults. */
  env: Record<string, string>;
}

export const FAULT_PROFILES = {
  short: {
    ratePerS: 200,
    loadS: 8,
    haLoadS: 8,
    faultAtS: 2,
    timing: { outageS: 3, pauseS: 3, stepS: 3, cutS: 12 },
    retryForS: 60,
    settleTimeoutS: 60,
    // A killed Kafka member's partitions wait for its session to expire: 6 s rather than 10.
    env: { KAFKA_SESSION_TIMEOUT_MS: "6000", KAFKA_HEARTBEAT_INTERVAL_MS: "500" },
  },
  full: {
    ratePerS: 800,
    loadS: 30,
    haLoadS: 60,
    faultAtS: 10,
    timing: { outageS: 5, pauseS: 3, stepS: 8, cutS: 30 },
    retryForS: 120,
    settleTimeoutS: 120,
    env: {},
  },
} as const satisfies Record<string, FaultProfile>;
export type FaultProfileName = keyof typeof FAULT_PROFILES;

/** One pipeline's account of a case, per id. */
export interface PipelineVerdict {
  /** Ids the API acknowledged (202). */
  acknowledged: number;
  /** Messages the store counted (total_messages). */
  counted: number;
  /** Acknowledged ids the store never counted. */
  lost: number;
  /** Counts beyond one per id: total_messages minus the distinct ids found counted. */
  countedTwice: number;
  /** Ids counted although every answer the client got was a 503 or no answer. */
  countedWithout202: number;
  /** The same id again within the dedup window, skipped (duplicates_total): client retries, repairs. */
  duplicatesSkipped: number;
  /** Broker replays skipped as counted before (replays_total): redeliveries, offsets replayed. */
  replaysSkipped: number;
  /** Per-country counts equal to what was acknowledged (and counted without a 202). */
  countriesExact: boolean;
  /** From the end of the load until the store had counted every acknowledged id. */
  caughtUpS: number | null;
  /** Messages left at the broker once every consumer had stopped: must be 0. */
  backlogLeft: number;
  /**
   * From the fault until the last moment the pipeline was more than one second of load behind
   * what the API had acknowledged: after it, the pipeline counted at full rate (0: never behind).
   */
  fullRateAfterS: number;
}

export interface FaultResult {
  id: string;
  title: string;
  sent: number;
  /** Requests made, of them answered 503, and without an answer (timeouts, refused connections). */
  requests: number;
  answered503: number;
  unanswered: number;
  /** How long the fault itself lasted (kill to restart, pause to resume). */
  faultS: number;
  /** From the end of the fault until the API and every consumer answered /readyz 200 (null: not within the bound). */
  recoveredS: number | null;
  /**
   * From the fault until the last message of the load whose first attempt was refused, unanswered
   * or slower than 1 s was due: after it, the API accepted the full load at once (0: never
   * disturbed; null: still disturbed at the end of the load).
   */
  apiFullRateAfterS: number | null;
  storesEqual: boolean;
  pipelines: Record<PipelineName, PipelineVerdict>;
}

export interface FaultContext {
  root: string;
  runId: string;
  runDir: string;
  admin: BrokerAdmin;
  progress: Progress;
  valkeyUrl: string;
  redisUrl: string;
  /** The logical DB of each store the suite owns (it resets it per case). */
  db: number;
  /** API on basePort, RabbitMQ consumers on basePort + 10 + i, Kafka ones on basePort + 20 + i. */
  basePort: number;
  /** Settings of the topology under test for the services (TOPOLOGY=ha: scripts/ha/env.sh does the rest). */
  stackEnv?: Record<string, string>;
  /** Seconds of load, when not the profile's loadS (the HA topology's haLoadS). */
  loadS?: number;
}

/** A sample of both stores' totals while a case runs. */
interface CountSample {
  at: number;
  counted: Record<PipelineName, number>;
}
const SAMPLE_MS = 200;
/** A message answered later than this on its first attempt counts as a disturbance of the API. */
const SLOW_FIRST_ANSWER_MS = 1000;

const elapsedS = (since: number) => Math.round((performance.now() - since) / 100) / 10;

/** Runs one case under load, then checks every acknowledged id against both stores. */
export async function runFaultCase(ctx: FaultContext, fault: FaultCase, profile: FaultProfile): Promise<FaultResult> {
  const name = `faults-${ctx.runId}-${fault.id}`;
  const urls: Record<PipelineName, string> = {
    "rabbitmq-valkey": withDb(ctx.valkeyUrl, ctx.db),
    "kafka-redis": withDb(ctx.redisUrl, ctx.db),
  };
  const stores = {} as Record<PipelineName, Valkey>;
  for (const p of PIPELINES) {
    stores[p] = new Valkey(urls[p], { maxRetriesPerRequest: 2 });
    stores[p].on("error", () => {}); // a store killed on purpose: commands fail and the waits retry them
  }
  await Promise.all(PIPELINES.map((p) => resetStore(stores[p])));
  await ctx.admin.createTopic(name, 3);
  const stack = new DevStack({
    root: ctx.root,
    dir: join(ctx.runDir, "faults", fault.id),
    apiPort: ctx.basePort,
    rabbitmqPort: ctx.basePort + 10,
    kafkaPort: ctx.basePort + 20,
    replicas: { rabbitmq: 2, kafka: 2 },
    env: {
      RABBITMQ_QUEUE: name,
      KAFKA_TOPIC: name,
      KAFKA_GROUP_ID: name,
      VALKEY_URL: urls["rabbitmq-valkey"],
      REDIS_URL: urls["kafka-redis"],
      ...ctx.stackEnv,
      ...profile.env,
      ...fault.env,
    },
  });
  const samples: CountSample[] = [];
  let sampling: ReturnType<typeof setInterval> | undefined;
  try {
    ctx.progress.status(`${fault.id}: starting the API and 2+2 consumers`);
    await stack.up();
    await waitFor("the Kafka group settled", () => ctx.admin.groupStable(name, 2), { timeoutMs: 30_000 });

    const loadS = ctx.loadS ?? profile.loadS;
    const client = new ChaosClient({
      apiUrl: stack.apiUrl,
      ratePerS: profile.ratePerS,
      durationS: loadS,
      requestTimeoutMs: 5000,
      retryForS: profile.retryForS,
      maxInFlight: 512,
    });
    ctx.progress.status(`${fault.id}: ${profile.ratePerS} msg/s for ${loadS} s; the fault at ${profile.faultAtS} s`);
    const load = client.run();
    sampling = setInterval(async () => {
      const at = performance.now();
      const totals = await Promise.all(PIPELINES.map((p) => stores[p].get("total_messages").catch(() => null)));
      if (totals.includes(null)) return; // a store restarting: no sample
      samples.push({
        at,
        counted: { "rabbitmq-valkey": Number(totals[0] ?? 0), "kafka-redis": Number(totals[1] ?? 0) },
      });
    }, SAMPLE_MS);
    await sleep(profile.faultAtS * 1000); // the fault lands at a set point of the load
    const faultStarted = performance.now();
    await fault.inject(stack, profile.timing);
    const faultS = elapsedS(faultStarted);
    const faultEnded = performance.now();
    const recoveredS = await waitFor("every service ready", () => stack.allReady(), {
      timeoutMs: profile.settleTimeoutS * 1000,
      intervalMs: 200,
    }).then(
      () => elapsedS(faultEnded),
      () => null,
    );
    await load;
    const loadEnded = performance.now();

    // Partial publishes the API repairs by itself are part of the outcome: wait for them.
    await waitFor(
      "the API's repairs done",
      async () => metricSum(await (await fetch(`${stack.apiUrl}/metrics`)).text(), "api_repair_queue_messages") === 0,
      { timeoutMs: profile.settleTimeoutS * 1000 },
    ).catch(() => {});
    const acknowledged = client.acknowledged;
    const caughtUp = await Promise.all(
      PIPELINES.map((p) =>
        waitFor(
          `${p} counted every acknowledged id`,
          async () => Number((await stores[p].get("total_messages")) ?? 0) >= acknowledged.length,
          { timeoutMs: profile.settleTimeoutS * 1000, intervalMs: 50 },
        ).then(
          () => elapsedS(loadEnded),
          () => null,
        ),
      ),
    );
    clearInterval(sampling);
    sampling = undefined;
    // With every consumer stopped (each settles what it counted), the brokers must hold nothing
    // unacknowledged: then nothing more can arrive, and the counts below are final.
    await stack.stopConsumers();
    const backlog = {
      "rabbitmq-valkey": await ctx.admin.queueDepth(name),
      "kafka-redis": await ctx.admin.groupLag(name, name),
    };
    const snapshots = {} as Record<PipelineName, StoreSnapshot>;
    const pipelines = {} as Record<PipelineName, PipelineVerdict>;
    for (const [i, pipeline] of PIPELINES.entries()) {
      const snapshot = await readSnapshot(stores[pipeline]);
      snapshots[pipeline] = snapshot;
      const found = await countedIds(stores[pipeline], [...client.records.keys()]);
      const expected: Record<string, number> = {};
      let lost = 0;
      let countedWithout202 = 0;
      for (const [id, record] of client.records) {
        const counted = found.has(id);
        if (record.acknowledged && !counted) lost++;
        if (!record.acknowledged && counted) countedWithout202++;
        if (counted || record.acknowledged) expected[record.country] = (expected[record.country] ?? 0) + 1;
      }
      pipelines[pipeline] = {
        acknowledged: acknowledged.length,
        counted: snapshot.total,
        lost,
        countedTwice: snapshot.total - found.size,
        countedWithout202,
        duplicatesSkipped: snapshot.duplicates,
        replaysSkipped: snapshot.replays,
        countriesExact: sameCounts(snapshot.countries, expected),
        caughtUpS: caughtUp[i] ?? null,
        backlogLeft: backlog[pipeline],
        fullRateAfterS: fullRateAfter(samples, client, pipeline, faultStarted, profile.ratePerS),
      };
    }
    const answers = [...client.records.values()].flatMap((r) => r.answers);
    const [valkey, redis] = [snapshots["rabbitmq-valkey"], snapshots["kafka-redis"]];
    return {
      id: fault.id,
      title: fault.title,
      sent: client.records.size,
      requests: answers.length,
      answered503: answers.filter((a) => a === 503).length,
      unanswered: answers.filter((a) => a === 0).length,
      faultS,
      recoveredS,
      apiFullRateAfterS: apiFullRateAfter(client, faultStarted),
      storesEqual: valkey.total === redis.total && sameCounts(valkey.countries, redis.countries),
      pipelines,
    };
  } finally {
    if (sampling) clearInterval(sampling);
    await stack.down().catch(() => {});
    await Promise.all(PIPELINES.map((p) => stores[p].quit().catch(() => {})));
    await ctx.admin.deleteTopics(name).catch(() => {});
    await ctx.admin.deleteQueues(name).catch(() => {});
  }
}

/** See PipelineVerdict.fullRateAfterS. */
function fullRateAfter(
  samples: readonly CountSample[],
  client: ChaosClient,
  pipeline: PipelineName,
  faultStarted: number,
  ratePerS: number,
): number {
  const acknowledgedAt = [...client.records.values()]
    .map((r) => r.acknowledgedAt)
    .filter((at): at is number => at !== undefined)
    .sort((a, b) => a - b);
  let acknowledged = 0;
  let lastBehind: number | undefined;
  for (const sample of samples) {
    while (acknowledged < acknowledgedAt.length && (acknowledgedAt[acknowledged] as number) <= sample.at)
      acknowledged++;
    if (sample.at >= faultStarted && acknowledged - sample.counted[pipeline] > ratePerS) lastBehind = sample.at;
  }
  return lastBehind === undefined ? 0 : Math.round((lastBehind + SAMPLE_MS - faultStarted) / 100) / 10;
}

/** See FaultResult.apiFullRateAfterS. */
function apiFullRateAfter(client: ChaosClient, faultStarted: number): number | null {
  let lastDisturbed: number | undefined;
  for (const record of client.records.values()) {
    const disturbed = record.firstAnswerMs > SLOW_FIRST_ANSWER_MS || record.answers[0] !== 202;
    if (disturbed && record.sentAt >= faultStarted && record.sentAt > (lastDisturbed ?? 0))
      lastDisturbed = record.sentAt;
  }
  if (lastDisturbed === undefined) return 0;
  // Disturbed into the load's last second: no full-rate second was seen after it.
  if (lastDisturbed > client.lastDueAt - 1000) return null;
  return Math.round((lastDisturbed - faultStarted) / 100) / 10;
}

function sameCounts(a: Record<string, number>, b: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if ((a[key] ?? 0) !== (b[key] ?? 0)) return false;
  return true;
}

/** A case passes when no pipeline lost or double-counted anything and every service came back. */
export function faultPassed(result: FaultResult, recoveryBoundS = 60): boolean {
  return (
    result.storesEqual &&
    result.recoveredS !== null &&
    result.recoveredS <= recoveryBoundS &&
    PIPELINES.every((p) => {
      const v = result.pipelines[p];
      return v.lost === 0 && v.countedTwice === 0 && v.countriesExact && v.backlogLeft === 0;
    })
  );
}
