import type { PhaseResult } from "../phase.ts";
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
