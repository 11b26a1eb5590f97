import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { MemorySample, PhaseResult } from "../phase.ts";
import type { ScenarioResult } from "../scenarios.ts";
import { MIN_FIT_SPAN_S } from "../soak.ts";
import { round } from "../stats.ts";
import { PIPELINES } from "../stores.ts";
import { e2ePercentiles, targetChecks } from "./derive.ts";
import { renderHtml } from "./html.ts";
import { renderMarkdown } from "./markdown.ts";
import type { RunInfo } from "./run-info.ts";

/** JSON with Infinity kept readable ("Infinity") instead of silently becoming null. */
const toJson = (value: unknown) =>
  JSON.stringify(value, (_key, v) => (v === Number.POSITIVE_INFINITY ? "Infinity" : v), 2);

/** Writes report.md, report.html and the raw data of a run into `dir`. */
export async function writeReport(dir: string, scenario: ScenarioResult, info: RunInfo): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const phase of scenario.phases) {
    const phaseDir = join(dir, "phases", phase.spec.id);
    mkdirSync(phaseDir, { recursive: true });
    const requests = phase.load.requests ?? [];
    const csv = ["due_offset_ms,latency_ms,status"];
    for (const r of requests) csv.push(`${r.dueOffsetMs.toFixed(3)},${r.latencyMs.toFixed(3)},${r.status}`);
    await Bun.write(join(phaseDir, "http-requests.csv"), `${csv.join("\n")}\n`);
    const samples = ["t_s,api_accepted,rabbitmq_valkey_counted,kafka_redis_counted"];
    for (const s of phase.samples) {
      samples.push(
        `${s.t.toFixed(3)},${s.apiAccepted ?? ""},${s.counted["rabbitmq-valkey"]},${s.counted["kafka-redis"]}`,
      );
    }
    await Bun.write(join(phaseDir, "samples.csv"), `${samples.join("\n")}\n`);
    if (phase.memory) await Bun.write(join(phaseDir, "memory.csv"), memoryCsv(phase.memory));
  }
  const withoutRequests = {
    ...scenario,
    phases: scenario.phases.map((phase) => ({ ...phase, load: { ...phase.load, requests: undefined } })),
  };
  await Bun.write(join(dir, "result.json"), toJson({ info, scenario: withoutRequests }));
  await Bun.write(join(dir, "config.json"), toJson(info));
  await Bun.write(join(dir, "report.md"), renderMarkdown(scenario, info));
  await Bun.write(join(dir, "report.html"), renderHtml(scenario, info));
}

/** Soak: one row per sample, a column per process RSS and per store figure. */
function memoryCsv(samples: MemorySample[]): string {
  const processes = [...new Set(samples.flatMap((s) => Object.keys(s.rssBytes)))].sort();
  const header = [
    "t_s",
    ...processes.map((name) => `rss_bytes_${name}`),
    ...PIPELINES.flatMap((p) => [`used_memory_${p}`, `keys_${p}`, `dedup_buckets_${p}`, `unacknowledged_ids_${p}`]),
  ];
  const rows = samples.map((s) =>
    [
      s.t.toFixed(1),
      ...processes.map((name) => s.rssBytes[name] ?? ""),
      ...PIPELINES.flatMap((p) => [
        s.stores[p].usedMemory,
        s.stores[p].keys,
        s.stores[p].dedupBuckets,
        s.stores[p].unacknowledged,
      ]),
    ].join(","),
  );
  return `${[header.join(","), ...rows].join("\n")}\n`;
}

/** The CPU table as summary lines: µs of CPU per message for each process, and the total. */
function cpuLines(phase: PhaseResult): string[] {
  const { cpu } = phase;
  const cells = cpu.rows.map((row) => `${row.name} ${round(row.usPerMessage, 1) ?? "n/a"}`);
  return [
    `    CPU µs/msg over ${round(cpu.wallS, 1)} s, ${cpu.messages} msgs: ${cells.join(", ")}; total ${round(cpu.total.usPerMessage, 1) ?? "n/a"}`,
  ];
}

/** The few lines printed at the end of `make bench`. */
export function summaryLines(dir: string, scenario: ScenarioResult): string[] {
  const lines = [`Scenario ${scenario.name}: report in ${dir}/report.md and report.html`];
  for (const phase of scenario.phases) {
    const { load } = phase;
    const pipes = PIPELINES.map((p) => {
      const o = phase.pipelines[p];
      const e2e = e2ePercentiles(phase, p);
      const drain = o.backlog ? ` drain ${round(o.backlog.drainRatePerS, 0)}/s` : "";
      const p99 = e2e.p99 === null || e2e.p99 === undefined ? "n/a" : Number.isFinite(e2e.p99) ? e2e.p99 : ">10000";
      return `${p} counted ${o.counted} lost ${o.lost} dup ${o.snapshot.duplicates} e2e p99 ${p99} ms${drain}`;
    });
    if (phase.disturbed) lines.push(`  ${phase.spec.id}: WARNING ${phase.disturbed}`);
    lines.push(
      `  ${phase.spec.id}: accepted ${load.accepted}/${load.sent} (${round(load.achievedRatePerS, 0)}/s), HTTP p99 ${round(
        load.latencyMs?.p99,
      )} ms | ${pipes.join(" | ")}`,
    );
    lines.push(...cpuLines(phase));
  }
  if (scenario.max) {
    lines.push(
      `  max sustained: rabbitmq-valkey ${scenario.max.highest["rabbitmq-valkey"] ?? "none"}/s, kafka-redis ${
        scenario.max.highest["kafka-redis"] ?? "none"
      }/s`,
    );
  }
  if (scenario.soak) {
    for (const store of scenario.soak.stores) {
      lines.push(
        `  soak ${store.pipeline}: max used_memory ${round((store.maxUsedBytes ?? Number.NaN) / 2 ** 20, 2) ?? "n/a"} MiB vs bound ${round(store.boundBytes / 2 ** 20, 2)} MiB at ${round(store.ratePerS, 0)}/s, dedup buckets ${store.maxDedupBuckets ?? "n/a"}, unacknowledged ids ${store.maxUnacknowledged ?? "n/a"}: ${store.within === null ? "n/a" : store.within ? "within" : "OVER"}`,
      );
    }
    const judged = scenario.soak.series.filter((s) => s.flat !== null);
    const notFlat = judged.filter((s) => !s.flat).map((s) => s.series);
    lines.push(
      `  soak flat after the window: ${
        judged.length === 0
          ? `not judged (the samples after the window span less than ${MIN_FIT_SPAN_S / 60} minutes or a window)`
          : notFlat.length === 0
            ? `every series (${judged.length})`
            : `NOT ${notFlat.join(", ")}`
      }`,
    );
  }
  if (scenario.ceiling) {
    for (const p of scenario.ceiling.parts) lines.push(`  part ${p.id}: ${round(p.ratePerS, 0)} msg/s`);
    for (const p of scenario.ceiling.pipelines) {
      lines.push(
        `  ${p.pipeline} (${p.messagesPerRequest}/request): ${p.highestRatePerS ?? "none"}/s = ${round(p.fraction, 3) ?? "n/a"} of its slowest part (${p.slowestPart}, ${round(p.slowestRatePerS, 0)}/s)`,
      );
    }
  }
  for (const check of targetChecks(scenario))
    lines.push(`  target ${check.met ? "MET" : "not met"}: ${check.target} -> ${check.measured}`);
  return lines;
}
