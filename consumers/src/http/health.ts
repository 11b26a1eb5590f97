import { Elysia } from "elysia";
import type { Registry } from "prom-client";

/** The /readyz body, the same shape as the API's. */
export interface Readiness {
  ready: boolean;
  shuttingDown: boolean;
  /** Each dependency by name (the broker, the store) and whether it answers. */
  dependencies: Record<string, "up" | "down">;
  /** True while a store write or a dead-letter publish is failing and being retried. */
  stalled: boolean;
}

export interface HealthDeps {
  readiness: () => Readiness;
  registry: Registry;
}

/** /healthz (process alive), /readyz (consuming), /metrics (Prometheus text). */
export function healthController({ readiness, registry }: HealthDeps) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ set }) => {
      const body = readiness();
      if (!body.ready) set.status = 503;
      return body;
    })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = registry.contentType;
      return registry.metrics();
    });
}
