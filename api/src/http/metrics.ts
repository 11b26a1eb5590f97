import { Elysia } from "elysia";
import type { ApiMetrics } from "../observability/metrics.ts";

export function metricsController(metrics: ApiMetrics) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async () => new Response(await metrics.render(), { headers: { "content-type": metrics.contentType } }),
    {
      detail: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        responses: {
          "200": {
            description: "Prometheus text exposition format.",
            content: { [metrics.contentType]: { schema: { type: "string" } } },
          },
        },
      },
    },
  );
}
