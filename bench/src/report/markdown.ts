import type { PhaseResult } from "../phase.ts";
import type { ScenarioResult } from "../scenarios.ts";
import { round } from "../stats.ts";
import { PIPELINES } from "../stores.ts";
import { countryAgreement, e2ePercentiles, targetChecks } from "./derive.ts";
import type { RunInfo } from "./run-info.ts";

const n = (value: number | null | undefined, digits = 2): string => {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  if (value === Number.POSITIVE_INFINITY) return ">10000";
  return String(round(value, digits));
};

function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

function phaseSection(phase: PhaseResult): string {
  const { load } = phase;
  const latency = load.latencyMs;
  const parts = [
    `## ${phase.spec.label} (\`${phase.spec.id}\`)`,
    ...(phase.disturbed ? [`**Warning:** ${phase.disturbed}.`, ""] : []),
    `Consumers: ${phase.spec.replicas.rabbitmq} RabbitMQ + ${phase.spec.replicas.kafka} Kafka replicas; Kafka partitions: ${phase.spec.partitions}; queue/topic \`${phase.names.queue}\`.`,
    "",
    "### HTTP (load generator)",
    table(
      [
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
      [
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
    ),
    "",
    `API counters: accepted ${n(phase.apiMetrics.acceptedTotal, 0)}, partial publishes ${n(phase.apiMetrics.partialPublishes, 0)}.`,
    "",
    "### Pipelines (read from the stores)",
    table(
      [
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
      PIPELINES.map((pipeline) => {
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
    ),
    "",
    "End-to-end latency (API accepted -> counted in the store) is read from the stores' `e2e_latency_ms` buckets: a percentile is the upper bound of its bucket.",
    "",
  ];
  const countries = countryAgreement(phase);
  const disagreeing = countries.filter((row) => !row.agree);
  parts.push(
    "### Per-country agreement between Valkey and Redis",
    disagreeing.length === 0
      ? `All ${countries.length} countries hold the same count in both stores.`
      : `${disagreeing.length} of ${countries.length} countries differ.`,
    "",
    table(
      ["country", "valkey", "redis", "difference"],
      countries.map((row) => [row.country, row.valkey, row.redis, row.valkey - row.redis]),
    ),
    "",
  );
  return parts.join("\n");
}

export function renderMarkdown(scenario: ScenarioResult, info: RunInfo): string {
  const parts = [
    `# Pipeline benchmark: \`${scenario.name}\``,
    "",
    scenario.description,
    "",
    `Run ${info.runId}, started ${info.startedAt}, ${info.machine.cpus} CPUs (${info.machine.cpuModel}), load average at start ${info.machine.loadAverage.join(" / ")}.`,
    "Figures from a small machine shared with other work are noisy: compare phases of one run rather than runs.",
    "",
    "## Targets",
    table(
      ["target", "measured", "met"],
      targetChecks(scenario).map((c) => [c.target, c.measured, c.met === null ? "n/a" : c.met ? "yes" : "no"]),
    ),
    "",
  ];
  if (scenario.max) {
    parts.push(
      "## Max-rate search",
      `Highest sustained rate: RabbitMQ->Valkey ${n(scenario.max.highest["rabbitmq-valkey"], 0)}/s, Kafka->Redis ${n(scenario.max.highest["kafka-redis"], 0)}/s (a step holds when the API accepted >= 95% of the target with < 0.1% errors and the store caught up within max(2 s, 10% of the step) with nothing lost).`,
      "",
      table(
        ["rate/s", "API kept up", "rabbitmq-valkey", "kafka-redis"],
        [...scenario.max.steps]
          .sort((a, b) => a.ratePerS - b.ratePerS)
          .map((s) => [
            s.ratePerS,
            s.apiKeptUp ? "yes" : "no",
            s.sustained["rabbitmq-valkey"] ? "held" : "behind",
            s.sustained["kafka-redis"] ? "held" : "behind",
          ]),
      ),
      "",
    );
  }
  for (const phase of scenario.phases) parts.push(phaseSection(phase));
  parts.push(
    "## Configuration and versions",
    "```json",
    JSON.stringify({ config: info.config, versions: info.versions, gitCommit: info.gitCommit }, null, 2),
    "```",
    "",
    "Raw data: `result.json` (everything above), `phases/<id>/http-requests.csv` (one row per request), `phases/<id>/samples.csv` (store counts once a second), `phases/<id>/logs/`.",
    "",
  );
  return parts.join("\n");
}
