import { Elysia } from "elysia";
import { MetricsUnavailableError } from "../errors.ts";
import type { ApiMetrics } from "../observability/metrics.ts";

/**
 * `render` is this process's registry, or with API_PROCESSES > 1 the sum over every process
 * (cluster/worker.ts), whichever process the scrape reached.
 */
export function metricsController(metrics: ApiMetrics, render: () => Promise<string> = () => metrics.render()) {
  return new Elysia({ name: "metrics" }).get(
    "/metrics",
    async () => {
      let text: string;
      try {
        text = await render();
      } catch (error) {
        throw new MetricsUnavailableError(error instanceof Error ? error.message : String(error));
      }
      return new Response(text, { headers: { "content-type": metrics.contentType } });
    },
    {
      detail: {
        tags: ["operations"],
        summary: "Prometheus metrics",
        responses: {
          "200": {
            description: "Prometheus text exposition format.",
            content: { [metrics.contentType]: { schema: { type: "string" } } },
          },
          "503": {
            description:
              "`metrics_unavailable`: API_PROCESSES > 1 and not every process answered in time (a partial sum would look like a counter reset).",
            content: { "application/json": { schema: { $ref: "#/components/schemas/ErrorResponse" } } },
          },
        },
      },
    },
  );
}
