import type { Readiness } from "@weather/schema";
import { Elysia } from "elysia";
import type { Registry } from "prom-client";

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
