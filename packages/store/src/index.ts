export * from "./counted.ts";
export * from "./layout.ts";
export * from "./reset.ts";
export * from "./sizing.ts";
export * from "./snapshot.ts";
