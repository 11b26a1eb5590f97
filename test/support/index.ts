export { sleep, waitFor } from "@weather/async";
export { metricSum } from "../../bench/src/metrics.ts";
export * from "./brokers.ts";
export * from "./messages.ts";
export * from "./names.ts";
export * from "./ports.ts";
export * from "./processes.ts";
export * from "./stack.ts";
export * from "./stores.ts";
