import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ScenarioResult } from "../scenarios.ts";
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
  }
  if (scenario.max) {
    lines.push(
      `  max sustained: rabbitmq-valkey ${scenario.max.highest["rabbitmq-valkey"] ?? "none"}/s, kafka-redis ${
        scenario.max.highest["kafka-redis"] ?? "none"
      }/s`,
    );
  }
  for (const check of targetChecks(scenario))
    lines.push(`  target ${check.met ? "MET" : "not met"}: ${check.target} -> ${check.measured}`);
  return lines;
}
