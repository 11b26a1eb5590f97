export * from "./envelope.ts";
export * from "./health.ts";
export * from "./message.ts";
export * from "./text.ts";
export * from "./validate.ts";
