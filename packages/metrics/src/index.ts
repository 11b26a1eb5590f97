export * from "./hot-histogram.ts";
