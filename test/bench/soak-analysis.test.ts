import { describe, expect, test } from "bun:test";
import { BASE_BYTES, dedupWindowBytes } from "@weather/store";
import { renderMarkdown } from "../../bench/src/report/markdown.ts";
import { summaryLines } from "../../bench/src/report/write.ts";
import { analyseSoak, bucketMeans, steadySamples } from "../../bench/src/soak.ts";
import { fixtureSoakPhase, fixtureSoakScenario } from "./fixture.ts";

const MIB = 2 ** 20;

describe("soak analysis", () => {
  const phase = fixtureSoakPhase();
  const soak = analyseSoak(phase, 600, 10);
  const series = (name: string) => soak.series.find((s) => s.series === name);

  test("judges the samples from 1.25 windows to the end of the load", () => {
    expect(soak.steadyFromS).toBe(750);
    const steady = steadySamples(phase, 600);
    expect(steady[0]?.t).toBe(750);
    expect(steady.at(-1)?.t).toBe(1800);
    expect(series("rss api")?.samples).toBe(106);
  });

  test("a growing RSS is not flat, and its slope per hour is the growth", () => {
    const leaky = series("rss leaky");
    expect(leaky?.flat).toBe(false);
    expect((leaky?.slopePerHour ?? 0) / MIB).toBeCloseTo(50, 6);
  });

  test("a saw-tooth around a level is flat: GC cycles, and keys that turn once a bucket", () => {
    expect(series("rss api")?.flat).toBe(true);
    for (const name of ["keys rabbitmq-valkey", "dedup buckets kafka-redis", "used_memory kafka-redis"]) {
      expect({ name, flat: series(name)?.flat }).toEqual({ name, flat: true });
    }
    // The bucket means of a series that turns once a bucket are constant.
    const keys = phase.memory?.map((s) => ({ x: s.t, y: s.stores["kafka-redis"].keys })) ?? [];
    expect(new Set(bucketMeans(keys, 150).map((p) => p.y.toFixed(9))).size).toBe(1);
  });

  test("too short a fit is not judged", () => {
    const short = fixtureSoakPhase();
    short.memory = short.memory?.filter((s) => s.t <= 900);
    short.loadWallS = 900;
    expect(analyseSoak(short, 600, 10).series.every((s) => s.flat === null)).toBe(true);
  });

  test("each store against the formula's bound at the rate achieved, and its dedup keys against theirs", () => {
    const valkey = soak.stores.find((s) => s.pipeline === "rabbitmq-valkey");
    expect(valkey?.boundBytes).toBe(BASE_BYTES + dedupWindowBytes(phase.load.achievedRatePerS, 600, "valkey"));
    expect(valkey?.maxUsedBytes).toBe(12 * MIB);
    expect(valkey?.maxDedupBuckets).toBe(6);
    expect(valkey?.within).toBe(true);
    // Redis's 16 MiB is over 8 MiB + 199.8/s x 750 s x 50 B.
    const redis = soak.stores.find((s) => s.pipeline === "kafka-redis");
    expect(redis?.within).toBe(false);
    const { scenario, info } = fixtureSoakScenario();
    expect(renderMarkdown(scenario, info)).toContain(
      "| kafka-redis | 200 | 15.15 | 16 | 16 | 6 (<= 6) | 12 | 0 | NO |",
    );
    const summary = summaryLines("/tmp/x", scenario).join("\n");
    expect(summary).toContain(
      "soak kafka-redis: max used_memory 16 MiB vs bound 15.15 MiB at 200/s, dedup buckets 6, unacknowledged ids 0: OVER",
    );
    expect(summary).toContain("soak flat after the window: NOT rss leaky");
  });
});
