export * from "./envelope.ts";
export * from "./message.ts";
export * from "./validate.ts";
