import type { PhaseResult } from "../phase.ts";
import type { ScenarioResult } from "../scenarios.ts";
import { targetChecks } from "./derive.ts";
import type { RunInfo } from "./run-info.ts";
import { scenarioSections } from "./sections.ts";
import {
  apiLatencyTable,
  countriesTable,
  cpuCaption,
  cpuTable,
  httpTable,
  formatFigure as n,
  pipelinesTable,
  type Table,
} from "./tables.ts";

function table(header: string[], rows: (string | number)[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map(() => " --- ").join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

/** A table in Markdown: the one renderer of every bench and fault report. */
export const tableOf = (t: Table): string => table(t.header, t.rows);

function phaseSection(phase: PhaseResult): string {
  const parts = [
    `## ${phase.spec.label} (\`${phase.spec.id}\`)`,
    ...(phase.disturbed ? [`**Warning:** ${phase.disturbed}.`, ""] : []),
    `Consumers: ${phase.spec.replicas.rabbitmq} RabbitMQ + ${phase.spec.replicas.kafka} Kafka replicas; Kafka partitions: ${phase.spec.partitions}; queue/topic \`${phase.names.queue}\`.`,
    "",
    "### HTTP (load generator)",
    tableOf(httpTable(phase)),
    "",
    `API counters: accepted ${n(phase.apiMetrics.acceptedTotal, 0)}, partial publishes ${n(phase.apiMetrics.partialPublishes, 0)}.`,
    "",
    ...apiLatencySection(phase),
    "### Pipelines (read from the stores)",
    tableOf(pipelinesTable(phase)),
    "",
    "End-to-end latency (API accepted -> counted in the store) is read from the stores' `e2e_latency_ms` buckets: a percentile is the upper bound of its bucket.",
    "",
  ];
  parts.push("### CPU per message", cpuCaption(phase.cpu), "", tableOf(cpuTable(phase.cpu)), "");
  const countries = countriesTable(phase);
  parts.push(
    "### Per-country agreement between Valkey and Redis",
    countries.disagreeing === 0
      ? `All ${countries.rows.length} countries hold the same count in both stores.`
      : `${countries.disagreeing} of ${countries.rows.length} countries differ.`,
    "",
    tableOf(countries),
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
  for (const section of scenarioSections(scenario)) {
    parts.push(`## ${section.heading}`, ...section.text, "");
    for (const t of section.tables) parts.push(tableOf(t), "");
  }
  for (const phase of scenario.phases) parts.push(phaseSection(phase));
  parts.push(
    "## Configuration and versions",
    "```json",
    JSON.stringify(
      {
        config: info.config,
        serviceSettings: info.serviceSettings,
        versions: info.versions,
        gitCommit: info.gitCommit,
      },
      null,
      2,
    ),
    "```",
    "",
    "Raw data: `result.json` (everything above), `phases/<id>/http-requests.csv` (one row per request), `phases/<id>/samples.csv` (store counts once a second), `phases/<id>/memory.csv` (soak: memory over time), `phases/<id>/logs/`.",
    "",
  );
  return parts.join("\n");
}

/** The API's own latency histograms (percentiles are bucket upper bounds, 1.25x apart). */
function apiLatencySection(phase: PhaseResult): string[] {
  const latency = apiLatencyTable(phase);
  return latency
    ? [tableOf(latency), "", "Inside the API: its own histograms (a percentile is its bucket's upper bound).", ""]
    : [];
}
