import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { recoveryTable } from "../faults/report.ts";
import { faultPassed } from "../faults/run.ts";
import type { PhaseResult } from "../phase.ts";
import { e2ePercentiles } from "../report/derive.ts";
import { escapeHtml, tableOf as htmlTable, PAGE_STYLE } from "../report/html.ts";
import { tableOf as markdownTable } from "../report/markdown.ts";
import type { RunInfo } from "../report/run-info.ts";
import { formatFigure as n, type Table } from "../report/tables.ts";
import { writeReport } from "../report/write.ts";
import { PIPELINES, type PipelineName } from "../stores.ts";
import type { HaScenarioResult, TopologyName } from "./scenario.ts";

/** The processes that do each pipeline's work beyond the API (which serves both), by name in the CPU table. */
const PIPELINE_GROUPS: Record<PipelineName, { broker: string; consumer: string; store: string }> = {
  "rabbitmq-valkey": { broker: "rabbitmq", consumer: "rabbitmq-consumer", store: "valkey" },
  "kafka-redis": { broker: "kafka", consumer: "kafka-consumer", store: "redis" },
};

/**
 * Milliseconds of CPU per message of the processes `matches` selects, from the phase's CPU table
 * (bench/src/resources.ts: every process, from the load's start until both stores caught up).
 */
function cpuPerMessage(phase: PhaseResult, matches: (name: string) => boolean): number | null {
  const rows = phase.cpu.rows.filter((row) => matches(row.name));
  if (rows.length === 0 || phase.cpu.messages === 0) return null;
  return (rows.reduce((sum, row) => sum + row.cpuSeconds, 0) * 1000) / phase.cpu.messages;
}

/** A broker's processes in a topology: its one server, or its three HA nodes (scripts/services.sh names them). */
function brokerNodes(topology: TopologyName, broker: string): (name: string) => boolean {
  return topology === "ha" ? (name) => name.startsWith(`${broker}-ha-`) : (name) => name === broker;
}

/** One row per topology and pipeline: the price of three copies, side by side. */
export function costTable(result: HaScenarioResult): Table {
  const header = [
    "topology",
    "pipeline",
    "highest sustained rate (msg/s)",
    "accepted/s at the phase's rate",
    "publish (HTTP) p50 / p99 ms",
    "end-to-end p50 / p99 ms",
    "broker CPU ms/msg",
    "consumer CPU ms/msg",
    "store CPU ms/msg",
    "API CPU ms/msg (both pipelines)",
  ];
  const rows = result.topologies.flatMap((t) =>
    PIPELINES.map((pipeline) => {
      const { rate } = t;
      const e2e = e2ePercentiles(rate, pipeline);
      const groups = PIPELINE_GROUPS[pipeline];
      return [
        t.label,
        pipeline,
        t.max ? n(t.max.highest[pipeline], 0) : "not searched",
        n(rate.load.achievedRatePerS, 0),
        `${n(rate.load.latencyMs?.p50)} / ${n(rate.load.latencyMs?.p99)}`,
        `${n(e2e.p50)} / ${n(e2e.p99)}`,
        n(cpuPerMessage(rate, brokerNodes(t.topology, groups.broker)), 3),
        n(
          cpuPerMessage(rate, (name) => name.startsWith(groups.consumer)),
          3,
        ),
        n(
          cpuPerMessage(rate, (name) => name === groups.store),
          3,
        ),
        n(
          cpuPerMessage(rate, (name) => name === "api"),
          3,
        ),
      ];
    }),
  );
  return { header, rows };
}

/** Per node-loss case: how long each side took to be at full rate again, and the exact counts. */
export function failoverTable(result: HaScenarioResult): Table {
  const header = [
    "fault",
    "fault lasted (s)",
    "API at full rate after (s)",
    "rabbitmq-valkey at full rate after (s)",
    "kafka-redis at full rate after (s)",
    "answered 503",
    "no answer",
    "lost (valkey / redis)",
    "counted twice (valkey / redis)",
    "verdict",
  ];
  const rows = result.failover.map((r) => [
    r.id,
    n(r.faultS, 1),
    r.apiFullRateAfterS === null ? "not within the load" : n(r.apiFullRateAfterS, 1),
    n(r.pipelines["rabbitmq-valkey"].fullRateAfterS, 1),
    n(r.pipelines["kafka-redis"].fullRateAfterS, 1),
    r.answered503,
    r.unanswered,
    `${r.pipelines["rabbitmq-valkey"].lost} / ${r.pipelines["kafka-redis"].lost}`,
    `${r.pipelines["rabbitmq-valkey"].countedTwice} / ${r.pipelines["kafka-redis"].countedTwice}`,
    faultPassed(r) ? "pass" : "**FAIL**",
  ]);
  return { header, rows };
}

const LIMITS = [
  "Every process of both topologies shares the same few cores. The three-node figures put three RabbitMQ nodes, three Kafka brokers (each also a KRaft controller), the API, four consumers, Valkey, Redis and the load generator on them at once, so replication here costs CPU time taken from everything else, while on three machines it costs a network round trip to a follower on its own CPU. Read the three-node figures as a lower bound of what three machines give, and the ratio between the topologies as the price of replication on a crowded box, not as a forecast for a cluster.",
  "A node loss on one machine frees its share of the CPU for the survivors, and a killed node is started again on the same machine in seconds: failover times include that restart but never a machine's boot or a volume's reattachment.",
];

const EXPLANATION = [
  "Each topology runs the same phase at the same open-loop rate (HTTP latency from each request's scheduled time; end-to-end latency from the stores' buckets, a percentile being its bucket's upper bound), and the same max-rate search (a step holds when the API accepted >= 95% of it with < 0.1% errors and the store caught up within max(2 s, 10% of the step) with nothing lost).",
  "CPU per message: CPU time (/proc, user + system) of each group of processes from the load's start until both stores had counted everything, divided by the messages the API accepted (the phase's CPU table in detail/). The broker group is one process on one node, three on three nodes.",
  "Failover: each node-loss case of the fault suite under load, on the three-node topology; its columns are defined in the fault report (bench/src/faults/report.ts): full rate again = the last moment a side was disturbed, measured from the fault.",
];

export async function writeHaReport(dir: string, result: HaScenarioResult, info: RunInfo, command: string) {
  mkdirSync(dir, { recursive: true });
  // Every phase in full (HTTP, pipelines, per-country agreement, raw CSV) in detail/.
  await writeReport(
    join(dir, "detail"),
    { name: "ha", description: "Every phase of the ha scenario, in full.", phases: result.phases },
    info,
  );
  const profile = result.faultProfile;
  const settings = `Failover cases: ${profile.ratePerS} msg/s for ${profile.haLoadS} s, the fault at ${profile.faultAtS} s, a killed node down ${profile.timing.outageS} s, a cut ${profile.timing.cutS} s.`;
  const markdown = [
    "# Durability: one node against three",
    "",
    `Run ${info.runId}, ${info.startedAt}, ${info.machine.cpus} CPUs (${info.machine.cpuModel}), load average at start ${info.machine.loadAverage.join(" / ")}. Command: \`${command}\`.`,
    "",
    "## What this machine limits",
    ...LIMITS.flatMap((line) => [line, ""]),
    "## What three copies cost",
    markdownTable(costTable(result)),
    "",
    "## Failover under load (three nodes each)",
    settings,
    "",
    markdownTable(failoverTable(result)),
    "",
    markdownTable(recoveryTable(result.failover)),
    "",
    ...EXPLANATION.flatMap((line) => [line, ""]),
    "Every phase in full: [detail/report.md](detail/report.md) (and detail/report.html); raw data in `result.json`.",
    "",
  ].join("\n");
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Durability: one node against three</title><style>
${PAGE_STYLE}</style></head><body>
<h1>Durability: one node against three</h1>
<p>Run ${escapeHtml(info.runId)}, ${escapeHtml(info.startedAt)}, ${info.machine.cpus} CPUs. Command: <code>${escapeHtml(command)}</code>.</p>
<h2>What this machine limits</h2>
${LIMITS.map((line) => `<p>${escapeHtml(line)}</p>`).join("\n")}
<h2>What three copies cost</h2>${htmlTable(costTable(result))}
<h2>Failover under load (three nodes each)</h2><p>${escapeHtml(settings)}</p>
${htmlTable(failoverTable(result))}
${htmlTable(recoveryTable(result.failover))}
${EXPLANATION.map((line) => `<p>${escapeHtml(line)}</p>`).join("\n")}
<p>Every phase in full: <a href="detail/report.html">detail/report.html</a>.</p>
</body></html>`;
  await Bun.write(join(dir, "report.md"), markdown);
  await Bun.write(join(dir, "report.html"), html);
  const withoutRequests = {
    ...result,
    phases: result.phases.map((phase) => ({ ...phase, load: { ...phase.load, requests: undefined } })),
    topologies: result.topologies.map((t) => ({ ...t, rate: t.rate.spec.id })),
  };
  await Bun.write(join(dir, "result.json"), JSON.stringify({ info, result: withoutRequests }, null, 2));
}
