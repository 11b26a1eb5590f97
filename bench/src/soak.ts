import { BASE_BYTES, DEDUP_BUCKETS, dedupWindowBytes, type StoreServer } from "@weather/store";
import type { MemorySample, PhaseResult } from "./phase.ts";
import { linearFit } from "./stats.ts";
import { PIPELINES, type PipelineName } from "./stores.ts";

/** The server behind each pipeline's store, for the memory formula's bytes per id. */
export const STORE_SERVER: Record<PipelineName, StoreServer> = { "rabbitmq-valkey": "valkey", "kafka-redis": "redis" };

/** Dedup bucket keys a store may hold while the window works: the live ones, plus two ending or expiring (layout.ts). */
export const DEDUP_BUCKET_KEYS_MAX = DEDUP_BUCKETS + 2;

/** One series sampled over the soak, judged on the samples after 1.25 windows. */
export interface SeriesVerdict {
  /** "rss vegeta", "used_memory rabbitmq-valkey", "keys kafka-redis", ... */
  series: string;
  unit: "bytes" | "keys";
  /** Samples in the fit (those after 1.25 windows, while the load ran). */
  samples: number;
  mean: number | null;
  max: number | null;
  /** Least-squares slope, per hour. */
  slopePerHour: number | null;
  /**
   * |slope| per hour within the flat threshold of the mean; null when the samples span less than a
   * window or MIN_FIT_SPAN_S (too short to tell). The fit is over bucket means (see bucketMeans).
   */
  flat: boolean | null;
}

/** A store's memory against the formula's bound, for the rate the soak achieved. */
export interface StoreBound {
  pipeline: PipelineName;
  server: StoreServer;
  /** Messages accepted per second over the load. */
  ratePerS: number;
  /** BASE_BYTES + dedupWindowBytes(rate, window, server) (packages/store/src/sizing.ts). */
  boundBytes: number;
  /** used_memory when the load started (the bench's DB cleared): what the server held of other DBs and itself. */
  usedBeforeBytes: number | null;
  /** The highest used_memory sampled after 1.25 windows (null: no sample there). */
  maxUsedBytes: number | null;
  maxDedupBuckets: number | null;
  maxKeys: number | null;
  /** The most ids sampled in RabbitMQ's replay guard after the window (0 for the Kafka store). */
  maxUnacknowledged: number | null;
  /** used_memory <= bound and dedup bucket keys <= DEDUP_BUCKETS + 2 in every sample after the window. */
  within: boolean | null;
}

export interface SoakAnalysis {
  windowS: number;
  /** Samples from here on are judged: one window and one bucket after the load started. */
  steadyFromS: number;
  flatPctPerHour: number;
  series: SeriesVerdict[];
  stores: StoreBound[];
}

/** The samples taken after one window plus one bucket (1.25 x the window), while the load still ran. */
export function steadySamples(phase: PhaseResult, windowS: number): MemorySample[] {
  const from = windowS * (1 + 1 / DEDUP_BUCKETS);
  return (phase.memory ?? []).filter((s) => s.t >= from && s.t <= phase.loadWallS);
}

type Point = { x: number; y: number };

/** An hour's slope from a shorter fit than this extrapolates noise (GC cycles, bucket turns): not judged. */
export const MIN_FIT_SPAN_S = 300;

/**
 * Each point replaced by the mean of the points of the bucket ending there (dropping the first
 * bucket): the dedup keys come and go once a bucket, and a fit over part of a cycle would read
 * that saw-tooth as growth. A mean over exactly one cycle cancels it.
 */
export function bucketMeans(points: readonly Point[], bucketS: number): Point[] {
  const first = points[0]?.x ?? 0;
  return points
    .filter((p) => p.x >= first + bucketS)
    .map((p) => {
      const inBucket = points.filter((q) => q.x > p.x - bucketS && q.x <= p.x);
      return { x: p.x, y: inBucket.reduce((sum, q) => sum + q.y, 0) / inBucket.length };
    });
}

function verdict(
  series: string,
  unit: SeriesVerdict["unit"],
  points: Point[],
  flatPct: number,
  windowS: number,
): SeriesVerdict {
  // Judged only over a window and MIN_FIT_SPAN_S at least.
  const span = (points.at(-1)?.x ?? 0) - (points[0]?.x ?? 0);
  const smoothed = bucketMeans(points, windowS / DEDUP_BUCKETS);
  const fit = span >= Math.max(windowS, MIN_FIT_SPAN_S) && smoothed.length >= 3 ? linearFit(smoothed) : null;
  const mean = points.length > 0 ? points.reduce((sum, p) => sum + p.y, 0) / points.length : null;
  const slopePerHour = fit ? fit.slope * 3600 : null;
  const flat = slopePerHour === null || mean === null ? null : Math.abs(slopePerHour) <= (flatPct / 100) * mean;
  return {
    series,
    unit,
    samples: points.length,
    mean,
    max: points.length > 0 ? Math.max(...points.map((p) => p.y)) : null,
    slopePerHour,
    flat,
  };
}

/** Whether every process's RSS and every store's memory and keys stayed flat, and the stores within their bound. */
export function analyseSoak(phase: PhaseResult, windowS: number, flatPctPerHour: number): SoakAnalysis {
  const steady = steadySamples(phase, windowS);
  const names = [...new Set(steady.flatMap((s) => Object.keys(s.rssBytes)))].sort();
  const series: SeriesVerdict[] = names.map((name) =>
    verdict(
      `rss ${name}`,
      "bytes",
      steady.filter((s) => s.rssBytes[name] !== undefined).map((s) => ({ x: s.t, y: s.rssBytes[name] as number })),
      flatPctPerHour,
      windowS,
    ),
  );
  for (const pipeline of PIPELINES) {
    const of = (series: string, unit: SeriesVerdict["unit"], pick: (s: MemorySample) => number) =>
      verdict(
        series,
        unit,
        steady.map((s) => ({ x: s.t, y: pick(s) })),
        flatPctPerHour,
        windowS,
      );
    series.push(
      of(`used_memory ${pipeline}`, "bytes", (s) => s.stores[pipeline].usedMemory),
      of(`keys ${pipeline}`, "keys", (s) => s.stores[pipeline].keys),
      of(`dedup buckets ${pipeline}`, "keys", (s) => s.stores[pipeline].dedupBuckets),
    );
    // In flight only (a prefetch window or so per replica): growth here is ids the store never forgets.
    if (pipeline === "rabbitmq-valkey") {
      series.push(of(`unacknowledged ids ${pipeline}`, "keys", (s) => s.stores[pipeline].unacknowledged));
    }
  }
  const ratePerS = phase.load.achievedRatePerS;
  const stores = PIPELINES.map((pipeline): StoreBound => {
    const server = STORE_SERVER[pipeline];
    const boundBytes = BASE_BYTES + dedupWindowBytes(ratePerS, windowS, server);
    const most = (pick: (s: MemorySample) => number) => (steady.length > 0 ? Math.max(...steady.map(pick)) : null);
    const maxUsedBytes = most((s) => s.stores[pipeline].usedMemory);
    const maxDedupBuckets = most((s) => s.stores[pipeline].dedupBuckets);
    return {
      pipeline,
      server,
      ratePerS,
      boundBytes,
      usedBeforeBytes: phase.memory?.[0]?.stores[pipeline].usedMemory ?? null,
      maxUsedBytes,
      maxDedupBuckets,
      maxKeys: most((s) => s.stores[pipeline].keys),
      maxUnacknowledged: most((s) => s.stores[pipeline].unacknowledged),
      within:
        maxUsedBytes === null || maxDedupBuckets === null
          ? null
          : maxUsedBytes <= boundBytes && maxDedupBuckets <= DEDUP_BUCKET_KEYS_MAX,
    };
  });
  return { windowS, steadyFromS: windowS * (1 + 1 / DEDUP_BUCKETS), flatPctPerHour, series, stores };
}
