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
    faultAtS: 2,
    timing: { outageS: 3, pauseS: 3, stepS: 3 },
    retryForS: 60,
    settleTimeoutS: 60,
    // A killed Kafka member's partitions wait for its session to expire: 6 s rather than 10.
    env: { KAFKA_SESSION_TIMEOUT_MS: "6000", KAFKA_HEARTBEAT_INTERVAL_MS: "500" },
  },
  full: {
    ratePerS: 800,
    loadS: 30,
    faultAtS: 10,
    timing: { outageS: 5, pauseS: 3, stepS: 8 },
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
}

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
      ...profile.env,
    },
  });
  try {
    ctx.progress.status(`${fault.id}: starting the API and 2+2 consumers`);
    await stack.up();
    await waitFor("the Kafka group settled", () => ctx.admin.groupStable(name, 2), { timeoutMs: 30_000 });

    const client = new ChaosClient({
      apiUrl: stack.apiUrl,
      ratePerS: profile.ratePerS,
      durationS: profile.loadS,
      requestTimeoutMs: 5000,
      retryForS: profile.retryForS,
      maxInFlight: 512,
    });
    ctx.progress.status(
      `${fault.id}: ${profile.ratePerS} msg/s for ${profile.loadS} s; the fault at ${profile.faultAtS} s`,
    );
    const load = client.run();
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
      storesEqual: valkey.total === redis.total && sameCounts(valkey.countries, redis.countries),
      pipelines,
    };
  } finally {
    await stack.down().catch(() => {});
    await Promise.all(PIPELINES.map((p) => stores[p].quit().catch(() => {})));
    await ctx.admin.deleteTopics(name).catch(() => {});
    await ctx.admin.deleteQueues(name).catch(() => {});
  }
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
