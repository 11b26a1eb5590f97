import { describe, expect, test } from "bun:test";
import {
  idBytes,
  LATENCY_BUCKETS_MS,
  LATENCY_FIELDS,
  latencyField,
  latencyPercentile,
  nearestRank,
} from "../src/layout.ts";

describe("latency buckets", () => {
  test("span 0.5 ms to 30 s, each at most 1.25x the one before", () => {
    expect(LATENCY_BUCKETS_MS[0]).toBe(0.5);
    expect(LATENCY_BUCKETS_MS.at(-1)).toBeGreaterThanOrEqual(30_000);
    for (let i = 1; i < LATENCY_BUCKETS_MS.length; i++) {
      const ratio = (LATENCY_BUCKETS_MS[i] as number) / (LATENCY_BUCKETS_MS[i - 1] as number);
      expect(ratio).toBeGreaterThan(1.2);
      expect(ratio).toBeLessThan(1.26);
    }
  });

  test("a latency lands in the smallest bucket whose upper bound holds it", () => {
    expect(latencyField(0)).toBe("0.5");
    expect(latencyField(0.5)).toBe("0.5");
    expect(latencyField(0.51)).toBe("0.625");
    expect(latencyField(12)).toBe("14.2");
    expect(latencyField(30_000)).toBe(String(LATENCY_BUCKETS_MS.find((b) => b >= 30_000)));
    expect(latencyField(1e9)).toBe("+Inf");
    for (const bound of LATENCY_BUCKETS_MS) expect(latencyField(bound)).toBe(String(bound));
  });

  test("percentiles read the non-cumulative buckets by nearest rank", () => {
    const buckets = Object.fromEntries(LATENCY_FIELDS.map((f) => [f, 0]));
    buckets["4.66"] = 90;
    buckets["54.2"] = 9;
    buckets["+Inf"] = 1;
    expect(latencyPercentile(buckets, 50)).toBe("4.66");
    expect(latencyPercentile(buckets, 90)).toBe("4.66");
    expect(latencyPercentile(buckets, 95)).toBe("54.2");
    expect(latencyPercentile(buckets, 99)).toBe("54.2");
    expect(latencyPercentile(buckets, 100)).toBe("+Inf");
    expect(latencyPercentile({}, 50)).toBeUndefined();
  });

  test("nearest rank: the smallest rank covering p percent", () => {
    expect(nearestRank(100, 99)).toBe(99);
    expect(nearestRank(10, 95)).toBe(10);
    expect(nearestRank(10, 0)).toBe(1);
    expect(nearestRank(3, 50)).toBe(2);
  });
});

describe("ids", () => {
  test("a UUID in any case is the same 16 bytes", () => {
    const id = "0192F1C4-7A3E-7C2B-9F10-2B3C4D5E6F70";
    expect(idBytes(id)).toEqual(idBytes(id.toLowerCase()));
    expect(idBytes(id)).toHaveLength(16);
  });
});
