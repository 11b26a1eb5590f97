import { Elysia } from "elysia";
import type { Registry } from "prom-client";

export interface HealthDeps {
  /** True while the consumer is connected to its broker and store and consuming. */
  ready: () => boolean;
  registry: Registry;
}

/** /healthz (process alive), /readyz (consuming), /metrics (Prometheus text). */
export function healthController({ ready, registry }: HealthDeps) {
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }))
    .get("/readyz", ({ set }) => {
      if (ready()) return { status: "ready" };
      set.status = 503;
      return { status: "not ready" };
    })
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = registry.contentType;
      return registry.metrics();
    });
}
