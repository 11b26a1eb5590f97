import { Type } from "@sinclair/typebox";
import { Elysia } from "elysia";
import type { BrokerPublisher } from "../brokers/types.ts";
import type { Lifecycle } from "../lifecycle.ts";

const Readiness = Type.Object({
  ready: Type.Boolean(),
  shuttingDown: Type.Boolean(),
  brokers: Type.Record(Type.String(), Type.Union([Type.Literal("up"), Type.Literal("down")]), {
    description: "Each broker's connection.",
  }),
});

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
        const status = Object.fromEntries(brokers.map((b) => [b.name, b.isUp() ? "up" : "down"]));
        const ready = !lifecycle.shuttingDown && brokers.every((b) => b.isUp());
        if (!ready) set.status = 503;
        return { ready, shuttingDown: lifecycle.shuttingDown, brokers: status };
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
