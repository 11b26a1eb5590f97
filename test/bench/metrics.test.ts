import { describe, expect, test } from "bun:test";
import { histogramBuckets, histogramPercentileMs } from "../../bench/src/metrics.ts";

/** Two scrapes of one API: 100 requests before the load, then 1,000 more during it. */
const scrape = (counts: [number, number, number, number]) =>
  [
    "# TYPE api_broker_publish_duration_seconds histogram",
    `api_broker_publish_duration_seconds_bucket{le="0.001",broker="rabbitmq"} ${counts[0]}`,
    `api_broker_publish_duration_seconds_bucket{le="0.005",broker="rabbitmq"} ${counts[1]}`,
    `api_broker_publish_duration_seconds_bucket{le="0.025",broker="rabbitmq"} ${counts[2]}`,
    `api_broker_publish_duration_seconds_bucket{le="+Inf",broker="rabbitmq"} ${counts[3]}`,
    'api_broker_publish_duration_seconds_bucket{le="0.001",broker="kafka"} 7',
    'api_broker_publish_duration_seconds_bucket{le="+Inf",broker="kafka"} 7',
  ].join("\n");

describe("the API's histograms in a bench report", () => {
  const before = histogramBuckets(scrape([100, 100, 100, 100]), "api_broker_publish_duration_seconds", {
    broker: "rabbitmq",
  });
  const after = histogramBuckets(scrape([100, 990, 1090, 1100]), "api_broker_publish_duration_seconds", {
    broker: "rabbitmq",
  });

  test("percentiles are of what was counted between the scrapes, as bucket upper bounds in ms", () => {
    // Between them: 890 in (1, 5] ms, 100 in (5, 25], 10 above.
    expect(histogramPercentileMs(before, after, 50)).toBe(5);
    expect(histogramPercentileMs(before, after, 99)).toBe(25);
    expect(histogramPercentileMs(before, after, 99.9)).toBe(Number.POSITIVE_INFINITY);
  });

  test("the labels choose the series; nothing counted or no histogram is null", () => {
    const kafka = histogramBuckets(scrape([0, 0, 0, 0]), "api_broker_publish_duration_seconds", { broker: "kafka" });
    expect([...(kafka ?? new Map()).entries()]).toEqual([
      [0.001, 7],
      [Number.POSITIVE_INFINITY, 7],
    ]);
    expect(histogramPercentileMs(kafka, kafka, 50)).toBeNull();
    expect(histogramBuckets(scrape([0, 0, 0, 0]), "api_http_request_duration_seconds")).toBeNull();
    expect(histogramPercentileMs(null, null, 50)).toBeNull();
  });
});
