import { describe, expect, test } from "bun:test";
import { Histogram, Registry } from "prom-client";
import { HotHistogram } from "../src/index.ts";

describe("HotHistogram", () => {
  test("renders exactly what prom-client's own histogram renders for the same observations", async () => {
    const buckets = [0.001, 0.005, 0.01, 0.1, 1];
    const values = [0, 0.001, 0.002, 0.0049, 0.05, 0.5, 2, 7, 0.01];
    const ours = new Registry();
    const theirs = new Registry();
    const hot = new HotHistogram({ name: "t_seconds", help: "h", buckets, labelNames: ["route"], registers: [ours] });
    const reference = new Histogram({
      name: "t_seconds",
      help: "h",
      buckets,
      labelNames: ["route"],
      registers: [theirs],
    });
    const series = hot.labels({ route: "/process" });
    for (const value of values) {
      series.observe(value);
      reference.labels("/process").observe(value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  test("a series is one per label set, and default labels of the registry apply", async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ pipeline: "p" });
    const hot = new HotHistogram({ name: "x", help: "h", buckets: [1], labelNames: ["k"], registers: [registry] });
    expect(hot.labels({ k: "a" })).toBe(hot.labels({ k: "a" }));
    hot.labels({ k: "a" }).observe(0.5);
    expect(await registry.metrics()).toContain('x_bucket{le="1",k="a",pipeline="p"} 1');
  });
});
