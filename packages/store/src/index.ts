export * from "./layout.ts";
export * from "./snapshot.ts";
