import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { PhaseResult } from "../phase.ts";
import type { ScenarioResult } from "../scenarios.ts";
import type { SoakAnalysis } from "../soak.ts";
import { PIPELINES } from "../stores.ts";
import { e2eDistribution, e2ePercentiles, PERCENTILES, targetChecks, throughputSeries } from "./derive.ts";
import type { RunInfo } from "./run-info.ts";
import { scenarioSections } from "./sections.ts";
import {
  apiLatencyTable,
  countriesTable,
  cpuCaption,
  cpuTable,
  httpTable,
  pipelinesTable,
  type Table,
} from "./tables.ts";

/** Chart.js's UMD build, inlined so the report renders with no network. */
function chartJsSource(): string {
  const entry = Bun.resolveSync("chart.js", import.meta.dir);
  return readFileSync(join(dirname(entry), "chart.umd.min.js"), "utf8").replaceAll("</script", "<\\/script");
}

export const escapeHtml = (text: unknown): string =>
  String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] as string);

function table(header: string[], rows: (string | number)[][]): string {
  const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("");
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** The style of every report page. */
export const PAGE_STYLE = `body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#111}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th{background:#f3f4f6}td:first-child,th:first-child{text-align:left}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:1rem}
figure{margin:0;height:300px;display:flex;flex-direction:column}figure canvas{flex:1;min-height:0}
figcaption{font-weight:600;font-size:.9rem}section{border-top:2px solid #e5e7eb;margin-top:2rem}
pre{background:#f3f4f6;padding:1rem;overflow:auto;font-size:.8rem}
`;

/** A table in HTML: the one renderer of every bench and fault report. */
export const tableOf = (t: Table): string => table(t.header, t.rows);

/** What the page script draws, per phase. */
function chartData(phase: PhaseResult, soak: SoakAnalysis | undefined) {
  const finite = (v: number | null) => (v === null || !Number.isFinite(v) ? null : v);
  return {
    id: phase.spec.id,
    throughput: throughputSeries(phase.samples),
    e2ePercentiles: Object.fromEntries(
      PIPELINES.map((p) => [p, PERCENTILES.map((q) => finite(e2ePercentiles(phase, p)[`p${q}`] ?? null))]),
    ),
    e2eDistribution: Object.fromEntries(PIPELINES.map((p) => [p, e2eDistribution(phase, p)])),
    httpPerSecond: phase.load.perSecond.map((s) => ({ t: s.second, p50: s.p50Ms, p99: s.p99Ms, accepted: s.accepted })),
    httpHistogram: phase.load.latencyHistogram.map((b) => ({
      label: Number.isFinite(b.upperMs) ? `<= ${b.upperMs} ms` : "> 30000 ms",
      count: b.count,
    })),
    memory: memorySeries(phase, soak),
  };
}

const MIB = 2 ** 20;

/** Soak: process RSS, store used_memory (with the formula's bound) and store keys over time, for the memory charts. */
function memorySeries(phase: PhaseResult, soak: SoakAnalysis | undefined) {
  const samples = phase.memory ?? [];
  const processes = [...new Set(samples.flatMap((s) => Object.keys(s.rssBytes)))].sort();
  const mib = (v: number | undefined) => (v === undefined ? null : Math.round((v / MIB) * 100) / 100);
  return {
    t: samples.map((s) => Math.round(s.t)),
    rss: processes.map((name) => ({ label: `RSS ${name}`, data: samples.map((s) => mib(s.rssBytes[name])) })),
    stores: [
      ...PIPELINES.map((p) => ({ label: `used_memory ${p}`, data: samples.map((s) => mib(s.stores[p].usedMemory)) })),
      ...(soak?.stores ?? []).map((bound) => ({
        label: `bound ${bound.pipeline}`,
        data: samples.map(() => mib(bound.boundBytes)),
      })),
    ],
    keys: PIPELINES.flatMap((p) => [
      { label: `keys ${p}`, data: samples.map((s) => s.stores[p].keys) },
      { label: `dedup buckets ${p}`, data: samples.map((s) => s.stores[p].dedupBuckets) },
    ]),
  };
}

function phaseSection(phase: PhaseResult): string {
  const { load } = phase;
  const id = escapeHtml(phase.spec.id);
  const countries = countriesTable(phase);
  const apiLatency = apiLatencyTable(phase);
  return `<section>
<h2>${escapeHtml(phase.spec.label)} <code>${id}</code></h2>
${phase.disturbed ? `<p><strong>Warning:</strong> ${escapeHtml(phase.disturbed)}.</p>` : ""}
<p>Consumers: ${phase.spec.replicas.rabbitmq} RabbitMQ + ${phase.spec.replicas.kafka} Kafka replicas; Kafka partitions: ${phase.spec.partitions}.</p>
<h3>HTTP</h3>
${tableOf(httpTable(phase))}
${apiLatency ? tableOf(apiLatency) : ""}
<h3>Pipelines (from the stores)</h3>
${tableOf(pipelinesTable(phase))}
<div class="charts">
<figure><figcaption>Throughput over time (messages/s)</figcaption><canvas data-chart="throughput" data-phase="${id}"></canvas></figure>
<figure><figcaption>End-to-end latency percentiles (ms, bucket bounds)</figcaption><canvas data-chart="e2ePercentiles" data-phase="${id}"></canvas></figure>
<figure><figcaption>End-to-end latency distribution (messages per bucket)</figcaption><canvas data-chart="e2eDistribution" data-phase="${id}"></canvas></figure>
<figure><figcaption>HTTP latency per second (ms, from scheduled send time)</figcaption><canvas data-chart="httpPerSecond" data-phase="${id}"></canvas></figure>
${load.latencyHistogram.length > 0 ? `<figure><figcaption>HTTP latency distribution</figcaption><canvas data-chart="httpHistogram" data-phase="${id}"></canvas></figure>` : ""}
${
  phase.memory
    ? `<figure><figcaption>Process memory over time (MiB, RSS)</figcaption><canvas data-chart="rss" data-phase="${id}"></canvas></figure>
<figure><figcaption>Store memory over time (MiB, used_memory, with the formula's bound)</figcaption><canvas data-chart="storeMemory" data-phase="${id}"></canvas></figure>
<figure><figcaption>Store keys over time (bench DB)</figcaption><canvas data-chart="storeKeys" data-phase="${id}"></canvas></figure>`
    : ""
}
</div>
<h3>CPU per message</h3>
<p>${escapeHtml(cpuCaption(phase.cpu))}</p>
${tableOf(cpuTable(phase.cpu))}
<h3>Per-country agreement: ${countries.disagreeing === 0 ? `all ${countries.rows.length} countries agree` : `${countries.disagreeing} of ${countries.rows.length} differ`}</h3>
${tableOf(countries)}
</section>`;
}

/** Draws every canvas from the embedded data; runs in the page. */
const PAGE_SCRIPT = `
const data = JSON.parse(document.getElementById("bench-data").textContent);
const colors = { api: "#6b7280", "rabbitmq-valkey": "#f97316", "kafka-redis": "#2563eb", p50: "#10b981", p99: "#dc2626" };
const pipelines = ["rabbitmq-valkey", "kafka-redis"];
const base = { animation: false, responsive: true, maintainAspectRatio: false };
const builders = {
  throughput: (d) => ({ type: "line", data: { labels: d.throughput.map((p) => p.t), datasets: [
    { label: "API accepted/s", data: d.throughput.map((p) => p.apiAcceptedPerS), borderColor: colors.api, pointRadius: 0 },
    ...pipelines.map((p) => ({ label: p + " counted/s", data: d.throughput.map((x) => x.countedPerS[p]), borderColor: colors[p], pointRadius: 0 })),
  ] }, options: { ...base, scales: { x: { title: { display: true, text: "s" } } } } }),
  e2ePercentiles: (d) => ({ type: "bar", data: { labels: ["p50", "p90", "p99", "p99.9"], datasets:
    pipelines.map((p) => ({ label: p, data: d.e2ePercentiles[p], backgroundColor: colors[p] })) },
    options: { ...base, scales: { y: { type: "logarithmic", title: { display: true, text: "ms" } } } } }),
  e2eDistribution: (d) => ({ type: "bar", data: { labels: d.e2eDistribution[pipelines[0]].map((b) => "<= " + b.bucket + " ms"), datasets:
    pipelines.map((p) => ({ label: p, data: d.e2eDistribution[p].map((b) => b.count), backgroundColor: colors[p] })) }, options: base }),
  httpPerSecond: (d) => ({ type: "line", data: { labels: d.httpPerSecond.map((s) => s.t), datasets: [
    { label: "p50 ms", data: d.httpPerSecond.map((s) => s.p50), borderColor: colors.p50, pointRadius: 0 },
    { label: "p99 ms", data: d.httpPerSecond.map((s) => s.p99), borderColor: colors.p99, pointRadius: 0 },
  ] }, options: { ...base, scales: { y: { type: "logarithmic" }, x: { title: { display: true, text: "s" } } } } }),
  rss: (d) => ({ type: "line", data: { labels: d.memory.t, datasets: d.memory.rss.map((s) => ({ label: s.label, data: s.data, pointRadius: 0 })) },
    options: { ...base, scales: { x: { title: { display: true, text: "s" } }, y: { title: { display: true, text: "MiB" } } } } }),
  storeMemory: (d) => ({ type: "line", data: { labels: d.memory.t, datasets: d.memory.stores.map((s) => ({ label: s.label, data: s.data, pointRadius: 0,
    borderDash: s.label.startsWith("bound") ? [6, 4] : [] })) },
    options: { ...base, scales: { x: { title: { display: true, text: "s" } }, y: { beginAtZero: true, title: { display: true, text: "MiB" } } } } }),
  storeKeys: (d) => ({ type: "line", data: { labels: d.memory.t, datasets: d.memory.keys.map((s) => ({ label: s.label, data: s.data, pointRadius: 0 })) },
    options: { ...base, scales: { x: { title: { display: true, text: "s" } } } } }),
  httpHistogram: (d) => ({ type: "bar", data: { labels: d.httpHistogram.map((b) => b.label), datasets: [
    { label: "requests", data: d.httpHistogram.map((b) => b.count), backgroundColor: colors.api } ] }, options: base }),
};
window.benchCharts = [];
for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
  const phase = data.phases.find((p) => p.id === canvas.dataset.phase);
  window.benchCharts.push(new Chart(canvas, builders[canvas.dataset.chart](phase)));
}
`;

export function renderHtml(scenario: ScenarioResult, info: RunInfo): string {
  const data = JSON.stringify({ phases: scenario.phases.map((p) => chartData(p, scenario.soak)) }).replaceAll(
    "</",
    "<\\/",
  );
  const checks = targetChecks(scenario);
  const sections = scenarioSections(scenario)
    .map(
      (section) =>
        `<h2>${escapeHtml(section.heading)}</h2>${section.text.map((t) => `<p>${escapeHtml(t)}</p>`).join("")}${section.tables.map(tableOf).join("\n")}`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pipeline benchmark: ${escapeHtml(scenario.name)}</title>
<style>
${PAGE_STYLE}</style></head><body>
<h1>Pipeline benchmark: <code>${escapeHtml(scenario.name)}</code></h1>
<p>${escapeHtml(scenario.description)}</p>
<p>Run ${escapeHtml(info.runId)}, ${escapeHtml(info.startedAt)}, ${info.machine.cpus} CPUs, load average at start ${escapeHtml(info.machine.loadAverage.join(" / "))}. Figures from a small shared machine are noisy.</p>
<h2>Targets</h2>
${table(
  ["target", "measured", "met"],
  checks.map((c) => [c.target, c.measured, c.met === null ? "n/a" : c.met ? "yes" : "no"]),
)}
${sections}
${scenario.phases.map(phaseSection).join("\n")}
<section><h2>Configuration and versions</h2><pre>${escapeHtml(
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
  )}</pre></section>
<script id="bench-data" type="application/json">${data}</script>
<script>${chartJsSource()}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}
