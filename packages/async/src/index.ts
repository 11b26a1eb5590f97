export * from "./backoff.ts";
export * from "./time.ts";
export * from "./wait-for.ts";
