import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { escapeHtml, tableOf as htmlTable, PAGE_STYLE } from "../report/html.ts";
import { tableOf as markdownTable } from "../report/markdown.ts";
import type { RunInfo } from "../report/run-info.ts";
import { formatFigure as n, type Table } from "../report/tables.ts";
import { PIPELINES } from "../stores.ts";
import { type FaultProfile, type FaultResult, faultPassed } from "./run.ts";

const yesNo = (value: boolean) => (value ? "yes" : "**no**");
const seconds = (value: number | null) => (value === null ? "not within the bound" : n(value, 1));

/** One row per fault and pipeline: the two pipelines side by side under each fault. */
export function faultsTable(results: readonly FaultResult[]): Table {
  const header = [
    "fault",
    "pipeline",
    "acknowledged",
    "counted",
    "lost",
    "counted twice",
    "counted without a 202",
    "same id again, skipped",
    "broker replays, skipped",
    "caught up after load (s)",
    "full rate after the fault (s)",
    "backlog left",
  ];
  const rows = results.flatMap((r) =>
    PIPELINES.map((p) => {
      const v = r.pipelines[p];
      return [
        r.id,
        p,
        v.acknowledged,
        v.counted,
        v.lost,
        v.countedTwice,
        v.countedWithout202,
        v.duplicatesSkipped,
        v.replaysSkipped,
        seconds(v.caughtUpS),
        n(v.fullRateAfterS, 1),
        v.backlogLeft,
      ];
    }),
  );
  return { header, rows };
}

/** One row per fault: what the client saw and how long the system took to heal. */
export function recoveryTable(results: readonly FaultResult[]): Table {
  const header = [
    "fault",
    "what happened",
    "messages",
    "requests",
    "answered 503",
    "no answer",
    "fault lasted (s)",
    "all ready again after (s)",
    "API at full rate after the fault (s)",
    "stores equal",
    "verdict",
  ];
  const rows = results.map((r) => [
    r.id,
    r.title,
    r.sent,
    r.requests,
    r.answered503,
    r.unanswered,
    n(r.faultS, 1),
    seconds(r.recoveredS),
    r.apiFullRateAfterS === null ? "not within the load" : n(r.apiFullRateAfterS, 1),
    yesNo(r.storesEqual),
    faultPassed(r) ? "pass" : "**FAIL**",
  ]);
  return { header, rows };
}

const EXPLANATION = [
  "Each fault runs under load from a client that gives every message its own id and retries a 503, an error or a timeout with the same id until it gets a 202 (the API's contract).",
  "After the load, every consumer is stopped (each settles what it counted) and the broker must hold nothing more for it (`backlog left`); then every id the client sent is looked up in each store's dedup window.",
  "`lost`: acknowledged ids never counted. `counted twice`: total_messages minus the distinct ids found counted. `counted without a 202`: ids counted although the client never got a 202 for them (a partial publish the API repaired, or an answer lost on the way).",
  "`same id again, skipped`: messages whose id was counted within the dedup window (a client's retry after a 503 that one broker had taken, a partial publish the API repaired). `broker replays, skipped`: redeliveries and replayed offsets the store recognised as counted. `all ready again`: from the end of the fault until the API and every consumer answered /readyz 200, with no command typed.",
  "`API at full rate after the fault`: from the fault until the last message whose first attempt was refused, unanswered or answered after more than 1 s (0: the fault never showed to the client). `full rate after the fault`, per pipeline: from the fault until the last moment (sampled every 200 ms) the store was more than one second of load behind what the API had acknowledged. `fault lasted`: from the kill (or cut) until the server was back (an HA node: until its cluster was whole again).",
];

export async function writeFaultReport(
  dir: string,
  results: readonly FaultResult[],
  profile: FaultProfile,
  info: RunInfo,
  command: string,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const settings = `${profile.ratePerS} msg/s for ${profile.loadS} s per fault (${profile.haLoadS} s on the HA topology), fault at ${profile.faultAtS} s; servers down ${profile.timing.outageS} s, API paused ${profile.timing.pauseS} s, HA nodes cut off ${profile.timing.cutS} s; 2 replicas of each consumer.`;
  const markdown = [
    "# Faults: both pipelines under each fault",
    "",
    `Run ${info.runId}, ${info.startedAt}, ${info.machine.cpus} CPUs. Command: \`${command}\`. ${settings}`,
    "",
    ...EXPLANATION.flatMap((line) => [line, ""]),
    "## Recovery",
    markdownTable(recoveryTable(results)),
    "",
    "## Counts, per pipeline",
    markdownTable(faultsTable(results)),
    "",
  ].join("\n");
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>Faults</title><style>
${PAGE_STYLE}</style></head><body>
<h1>Faults: both pipelines under each fault</h1>
<p>Run ${escapeHtml(info.runId)}, ${escapeHtml(info.startedAt)}, ${info.machine.cpus} CPUs. Command: <code>${escapeHtml(command)}</code>. ${escapeHtml(settings)}</p>
${EXPLANATION.map((line) => `<p>${escapeHtml(line)}</p>`).join("\n")}
<h2>Recovery</h2>${htmlTable(recoveryTable(results))}
<h2>Counts, per pipeline</h2>${htmlTable(faultsTable(results))}
</body></html>`;
  await Bun.write(join(dir, "report.md"), markdown);
  await Bun.write(join(dir, "report.html"), html);
  await Bun.write(join(dir, "result.json"), JSON.stringify({ info, profile, results }, null, 2));
}
