import type { CeilingResult } from "../ceiling/run.ts";
import type { PhaseResult } from "../phase.ts";
import type { CpuUsage } from "../resources.ts";
import { DEDUP_BUCKET_KEYS_MAX, type SeriesVerdict, type SoakAnalysis } from "../soak.ts";
import { round } from "../stats.ts";
import { PIPELINES } from "../stores.ts";
import { countryAgreement, e2ePercentiles } from "./derive.ts";

/** A table as both report formats render it: the Markdown and the HTML report show the same figures. */
export interface Table {
  header: string[];
  rows: (string | number)[][];
}

/** A figure for a table cell: rounded, "n/a" when unknown, ">10000" past the last latency bucket. */
export const formatFigure = (value: number | null | undefined, digits = 2): string => {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  if (value === Number.POSITIVE_INFINITY) return ">10000";
  return String(round(value, digits));
};
const n = formatFigure;

/**
 * The API's own histograms over the same load: the request as the server saw it, and each broker's
 * confirmation inside it. The client's latency minus the server's is time before the API read the
 * request (the client, the kernel, waiting for a CPU).
 */
export function apiLatencyTable(phase: PhaseResult): Table | null {
  const latency = phase.apiLatency;
  if (!latency) return null;
  const row = (what: string, part: keyof typeof latency) => [what, n(latency[part].p50), n(latency[part].p99)];
  return {
    header: ["inside the API", "p50 ms", "p99 ms"],
    rows: [
      row("POST /process, received to answered", "request"),
      row("RabbitMQ: publish to confirm", "rabbitmq"),
      row("Kafka: produce to acknowledgement", "kafka"),
    ],
  };
}

export function httpTable(phase: PhaseResult): Table {
  const { load } = phase;
  const latency = load.latencyMs;
  return {
    header: [
      "generator",
      "target/s",
      "accepted/s",
      "scheduled",
      "sent",
      "accepted",
      "failed",
      "msgs/request",
      "statuses (requests)",
      "p50 ms",
      "p90 ms",
      "p99 ms",
      "p99.9 ms",
      "max ms",
    ],
    rows: [
      [
        load.generator,
        n(load.targetRatePerS),
        n(load.achievedRatePerS, 0),
        load.scheduled,
        load.sent,
        load.accepted,
        load.failed,
        load.messagesPerRequest,
        Object.entries(load.statusCounts)
          .map(([k, v]) => `${k}: ${v}`)
          .join(", "),
        n(latency?.p50),
        n(latency?.p90),
        n(latency?.p99),
        n(latency?.p999),
        n(latency?.max),
      ],
    ],
  };
}

export function pipelinesTable(phase: PhaseResult): Table {
  return {
    header: [
      "pipeline",
      "accepted (API)",
      "counted",
      "lost",
      "extra",
      "duplicates",
      "dead-lettered",
      "caught up after s",
      "e2e p50 ms",
      "e2e p90 ms",
      "e2e p99 ms",
      "e2e p99.9 ms",
      "backlog drain msg/s",
    ],
    rows: PIPELINES.map((pipeline) => {
      const o = phase.pipelines[pipeline];
      const e2e = e2ePercentiles(phase, pipeline);
      return [
        pipeline,
        phase.accepted,
        o.counted,
        o.lost,
        o.extra,
        o.snapshot.duplicates,
        o.snapshot.deadLettered,
        n(o.caughtUpAfterS),
        n(e2e.p50),
        n(e2e.p90),
        n(e2e.p99),
        n(e2e["p99.9"]),
        o.backlog
          ? `${n(o.backlog.drainRatePerS, 0)} (${o.backlog.messages} msgs; first counted ${n(o.backlog.startupS)} s after start)`
          : "-",
      ];
    }),
  };
}

export function countriesTable(phase: PhaseResult): Table & { disagreeing: number } {
  const countries = countryAgreement(phase);
  return {
    header: ["country", "valkey", "redis", "difference"],
    rows: countries.map((row) => [row.country, row.valkey, row.redis, row.valkey - row.redis]),
    disagreeing: countries.filter((row) => !row.agree).length,
  };
}

/** CPU per message of every process over the measured part (µs of CPU per message), with the total. */
export function cpuTable(cpu: CpuUsage): Table {
  return {
    header: ["process", "role", "CPU s", "µs CPU/msg", "note"],
    rows: [
      ...cpu.rows.map((row) => [row.name, row.role, n(row.cpuSeconds, 3), n(row.usPerMessage, 1), row.note ?? ""]),
      ["total", "all processes", n(cpu.total.cpuSeconds, 3), n(cpu.total.usPerMessage, 1), ""],
    ],
  };
}

/** The sentence above a CPU table: what was divided by what. */
export function cpuCaption(cpu: CpuUsage): string {
  return `CPU (utime + stime from /proc/<pid>/stat) of each process over the measured ${n(cpu.wallS, 1)} s, divided by the ${cpu.messages} messages measured.`;
}

const MIB = 2 ** 20;

/** The soak's verdicts: each series' slope after 1.25 windows, and whether it is flat. */
export function soakSeriesTable(soak: SoakAnalysis): Table {
  const value = (v: number | null, unit: SeriesVerdict["unit"]) =>
    v === null ? "n/a" : unit === "bytes" ? `${n(v / MIB, 2)} MiB` : n(v, 1);
  return {
    header: ["series", "samples", "mean", "max", "slope per hour", "flat"],
    rows: soak.series.map((s) => [
      s.series,
      s.samples,
      value(s.mean, s.unit),
      value(s.max, s.unit),
      value(s.slopePerHour, s.unit),
      s.flat === null ? "n/a" : s.flat ? "yes" : "NO",
    ]),
  };
}

/** Each store's used_memory after the window against the formula's bound at the rate achieved. */
export function soakBoundTable(soak: SoakAnalysis): Table {
  return {
    header: [
      "pipeline",
      "rate achieved/s",
      "bound MiB (base + dedup window)",
      "used_memory at start MiB",
      "max used_memory MiB",
      "max dedup bucket keys",
      "max keys",
      "max unacknowledged ids",
      "within",
    ],
    rows: soak.stores.map((s) => [
      s.pipeline,
      n(s.ratePerS, 0),
      n(s.boundBytes / MIB, 2),
      s.usedBeforeBytes === null ? "n/a" : n(s.usedBeforeBytes / MIB, 2),
      s.maxUsedBytes === null ? "n/a" : n(s.maxUsedBytes / MIB, 2),
      `${s.maxDedupBuckets ?? "n/a"} (<= ${DEDUP_BUCKET_KEYS_MAX})`,
      s.maxKeys ?? "n/a",
      s.maxUnacknowledged ?? "n/a",
      s.within === null ? "n/a" : s.within ? "yes" : "NO",
    ]),
  };
}

/** Each part alone: what it measured and its rate. */
export function ceilingPartsTable(ceiling: CeilingResult): Table {
  return {
    header: ["part", "messages", "seconds", "msg/s", "µs CPU/msg (all processes)", "what it measures"],
    rows: ceiling.parts.map((p) => [
      p.id,
      p.messages,
      n(p.seconds, 2),
      n(p.ratePerS, 0),
      n(p.cpu.total.usPerMessage, 1),
      p.what,
    ]),
  };
}

/** Each pipeline's highest sustained rate as a fraction of its slowest part. */
export function ceilingPipelinesTable(ceiling: CeilingResult): Table {
  return {
    header: ["pipeline", "msgs/request", "highest sustained/s", "slowest part", "its msg/s", "fraction"],
    rows: ceiling.pipelines.map((p) => [
      p.pipeline,
      p.messagesPerRequest,
      n(p.highestRatePerS, 0),
      p.slowestPart,
      n(p.slowestRatePerS, 0),
      p.fraction === null ? "n/a" : n(p.fraction, 3),
    ]),
  };
}
