export * from "./hot-histogram.ts";
export * from "./latency-buckets.ts";
