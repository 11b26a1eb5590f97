import { Type } from "@sinclair/typebox";
import { Readiness } from "@weather/schema";
import { Elysia } from "elysia";
import type { BrokerPublisher } from "../brokers/types.ts";
import type { Lifecycle } from "../lifecycle.ts";

/** /healthz: the process answers. /readyz: both brokers connected and not shutting down. */
export function healthController(options: { lifecycle: Lifecycle; brokers: readonly BrokerPublisher[] }) {
  const { lifecycle, brokers } = options;
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" as const }), {
      detail: {
        tags: ["operations"],
        summary: "Liveness",
        responses: {
          "200": {
            description: "The process answers.",
            content: { "application/json": { schema: Type.Object({ status: Type.Literal("ok") }) } },
          },
        },
      },
    })
    .get(
      "/readyz",
      ({ set }) => {
        const dependencies = Object.fromEntries(brokers.map((b) => [b.name, b.isUp() ? "up" : "down"] as const));
        const ready = !lifecycle.shuttingDown && brokers.every((b) => b.isUp());
        if (!ready) set.status = 503;
        const body: Readiness = { ready, shuttingDown: lifecycle.shuttingDown, dependencies };
        return body;
      },
      {
        detail: {
          tags: ["operations"],
          summary: "Readiness: both brokers connected and not shutting down",
          responses: {
            "200": { description: "Ready.", content: { "application/json": { schema: Readiness } } },
            "503": { description: "Not ready.", content: { "application/json": { schema: Readiness } } },
          },
        },
      },
    );
}
