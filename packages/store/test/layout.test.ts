import { describe, expect, test } from "bun:test";
import { LATENCY_FIELDS, latencyField, latencyPercentile } from "../src/layout.ts";

describe("latency buckets", () => {
  test("a latency lands in the smallest bucket whose upper bound holds it", () => {
    expect(latencyField(0)).toBe("1");
    expect(latencyField(1)).toBe("1");
    expect(latencyField(1.5)).toBe("2");
    expect(latencyField(26)).toBe("50");
    expect(latencyField(10000)).toBe("10000");
    expect(latencyField(10001)).toBe("+Inf");
  });

  test("percentiles read the non-cumulative buckets", () => {
    const buckets = Object.fromEntries(LATENCY_FIELDS.map((f) => [f, 0]));
    buckets["5"] = 90;
    buckets["50"] = 9;
    buckets["+Inf"] = 1;
    expect(latencyPercentile(buckets, 50)).toBe("5");
    expect(latencyPercentile(buckets, 90)).toBe("5");
    expect(latencyPercentile(buckets, 95)).toBe("50");
    expect(latencyPercentile(buckets, 99)).toBe("50");
    expect(latencyPercentile(buckets, 100)).toBe("+Inf");
    expect(latencyPercentile({}, 50)).toBeUndefined();
  });
});
