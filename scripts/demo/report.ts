import type { StoreSnapshot } from "@weather/store";
import { LATENCY_FIELDS, latencyPercentile } from "@weather/store";
import type { LoadResult } from "./load.ts";

/** What one pipeline did during the demo: the store's counters now minus before. */
export function delta(after: StoreSnapshot, before: StoreSnapshot): StoreSnapshot {
  const minus = (a: Record<string, number>, b: Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) out[key] = (a[key] ?? 0) - (b[key] ?? 0);
    return out;
  };
  return {
    total: after.total - before.total,
    countries: minus(after.countries, before.countries),
    weathers: minus(after.weathers, before.weathers),
    duplicates: after.duplicates - before.duplicates,
    replays: after.replays - before.replays,
    deadLettered: after.deadLettered - before.deadLettered,
    latencyMs: minus(after.latencyMs, before.latencyMs),
    recent: after.recent,
  };
}

export interface PipelineRun {
  counted: StoreSnapshot;
  /** ms from the first request until this pipeline had counted every accepted message (undefined: it did not). */
  drainedAfterMs: number | undefined;
}

const fmt = (n: number) => n.toLocaleString("en-US");
const latency = (buckets: Record<string, number>, p: number) => {
  const bound = latencyPercentile(buckets, p);
  return bound === undefined ? "-" : bound === "+Inf" ? `> ${LATENCY_FIELDS.at(-2)} ms` : `<= ${bound} ms`;
};

/** The side-by-side table, as lines of text. */
export function renderTable(load: LoadResult, valkey: PipelineRun, redis: PipelineRun): string {
  const rows: [string, string, string, string][] = [];
  const row = (label: string, sent: string, a: string, b: string) => rows.push([label, sent, a, b]);
  row("accepted by the API", fmt(load.accepted), "", "");
  row("counted", fmt(load.accepted), fmt(valkey.counted.total), fmt(redis.counted.total));
  for (const country of Object.keys(load.countries).sort()) {
    row(
      `  country ${country}`,
      fmt(load.countries[country] ?? 0),
      fmt(valkey.counted.countries[country] ?? 0),
      fmt(redis.counted.countries[country] ?? 0),
    );
  }
  for (const weather of Object.keys(load.weathers).sort()) {
    row(
      `  weather ${weather}`,
      fmt(load.weathers[weather] ?? 0),
      fmt(valkey.counted.weathers[weather] ?? 0),
      fmt(redis.counted.weathers[weather] ?? 0),
    );
  }
  row("duplicates skipped", "", fmt(valkey.counted.duplicates), fmt(redis.counted.duplicates));
  row("replays skipped", "", fmt(valkey.counted.replays), fmt(redis.counted.replays));
  row("dead-lettered", "", fmt(valkey.counted.deadLettered), fmt(redis.counted.deadLettered));
  for (const p of [50, 95, 99]) {
    row(`end-to-end latency p${p}`, "", latency(valkey.counted.latencyMs, p), latency(redis.counted.latencyMs, p));
  }
  const elapsed = (run: PipelineRun) =>
    run.drainedAfterMs === undefined ? "not drained" : `${(run.drainedAfterMs / 1000).toFixed(2)} s`;
  const rate = (run: PipelineRun) =>
    run.drainedAfterMs === undefined ? "-" : `${fmt(Math.round(run.counted.total / (run.drainedAfterMs / 1000)))}/s`;
  const sendSeconds = (load.finishedAt - load.startedAt) / 1000;
  row("elapsed (first request -> all counted)", `${sendSeconds.toFixed(2)} s`, elapsed(valkey), elapsed(redis));
  row("messages/s", `${fmt(Math.round(load.accepted / sendSeconds))}/s`, rate(valkey), rate(redis));

  const header: [string, string, string, string] = ["", "sent", "RabbitMQ -> Valkey", "Kafka -> Redis"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("   ");
  const rule = "-".repeat(widths.reduce((a, b) => a + b + 3, -3));
  return [line(header), rule, ...rows.map(line), rule].join("\n");
}
