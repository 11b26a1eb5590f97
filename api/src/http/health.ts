import { Elysia } from "elysia";
import type { BrokerPublisher } from "../brokers/types.ts";
import type { Lifecycle } from "../lifecycle.ts";

/** /healthz: the process answers. /readyz: both brokers connected and not shutting down. */
export function healthController(options: { lifecycle: Lifecycle; brokers: readonly BrokerPublisher[] }) {
  const { lifecycle, brokers } = options;
  return new Elysia({ name: "health" })
    .get("/healthz", () => ({ status: "ok" }), { detail: { tags: ["operations"], summary: "Liveness" } })
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
          responses: { "200": { description: "Ready." }, "503": { description: "Not ready." } },
        },
      },
    );
}
