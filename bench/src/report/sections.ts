import type { MaxSearch, ScenarioResult } from "../scenarios.ts";
import { MIN_FIT_SPAN_S } from "../soak.ts";
import {
  ceilingPartsTable,
  ceilingPipelinesTable,
  formatFigure as n,
  soakBoundTable,
  soakSeriesTable,
  type Table,
} from "./tables.ts";

/** A scenario-level section of a report, as both formats render it (text first, then tables). */
export interface Section {
  heading: string;
  text: string[];
  tables: Table[];
}

function maxStepsTable(search: MaxSearch): Table {
  return {
    header: ["rate/s", "API kept up", "rabbitmq-valkey", "kafka-redis"],
    rows: [...search.steps]
      .sort((a, b) => a.ratePerS - b.ratePerS)
      .map((s) => [
        s.ratePerS,
        s.apiKeptUp ? "yes" : "no",
        s.sustained["rabbitmq-valkey"] ? "held" : "behind",
        s.sustained["kafka-redis"] ? "held" : "behind",
      ]),
  };
}

function maxSection(search: MaxSearch, heading: string): Section {
  return {
    heading,
    text: [
      `Highest sustained rate: RabbitMQ->Valkey ${n(search.highest["rabbitmq-valkey"], 0)}/s, Kafka->Redis ${n(search.highest["kafka-redis"], 0)}/s, ${search.messagesPerRequest} message(s) per request (a step holds when the API accepted >= 95% of the target with < 0.1% errors and the store caught up within max(2 s, 10% of the step) with nothing lost).`,
    ],
    tables: [maxStepsTable(search)],
  };
}

/** The sections a scenario has beyond its phases: the max search, the soak's verdicts, the ceiling. */
export function scenarioSections(scenario: ScenarioResult): Section[] {
  const sections: Section[] = [];
  if (scenario.max) sections.push(maxSection(scenario.max, "Max-rate search"));
  const { soak, ceiling } = scenario;
  if (soak) {
    sections.push({
      heading: "Soak: memory after the dedup window",
      text: [
        `Judged on the samples taken from ${n(soak.steadyFromS, 1)} s (1.25 x the ${soak.windowS} s dedup window: a window and one bucket) until the load ended. A series is flat when its least-squares slope (fitted to its means over one dedup bucket, which cancels the buckets' own saw-tooth) changes it by at most ${soak.flatPctPerHour}% of its mean per hour; it is judged (n/a otherwise) when those samples span at least one window and ${MIN_FIT_SPAN_S / 60} minutes. The bound is the sizing formula's (packages/store/src/sizing.ts: BASE_BYTES + dedupWindowBytes) for the rate the soak achieved; used_memory is the whole server's.`,
      ],
      tables: [soakBoundTable(soak), soakSeriesTable(soak)],
    });
  }
  if (ceiling) {
    sections.push({
      heading: "Ceiling: each part alone, and each pipeline against its slowest part",
      text: [
        "Each part runs alone, one after the other, on the same servers (nothing else of the bench runs meanwhile). A pipeline's fraction is its highest sustained rate over the slowest of its parts: its broker's publish, its broker's consume, and its store's count at the best batch size. Every message of a pipeline is also published to the other broker (the API confirms on both), so the other broker's publish bounds it too.",
      ],
      tables: [ceilingPipelinesTable(ceiling), ceilingPartsTable(ceiling)],
    });
    for (const search of ceiling.searches) {
      sections.push(maxSection(search, `Max-rate search, ${search.messagesPerRequest} message(s) per request`));
    }
  }
  return sections;
}
