import type { Logger } from "@weather/log";
import type { ApiMetrics } from "../observability/metrics.ts";
import { COLLECT_TIMEOUT_MS, type PrimaryMessage, type WorkerMessage } from "./protocol.ts";

/**
 * One of API_PROCESSES processes: answers the primary's requests for its metrics, and returns the
 * /metrics renderer that asks the primary for the sum over every process. If the primary goes away
 * (killed), the IPC channel closes and `onOrphaned` shuts this process down: nothing else would.
 */
export function joinCluster(metrics: ApiMetrics, logger: Logger, onOrphaned: () => void): () => Promise<string> {
  const send = (message: WorkerMessage) => process.send?.(message);
  let nextId = 0;
  const scrapes = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();

  process.on("message", (message: PrimaryMessage) => {
    if (message.kind === "collect") {
      metrics.registry.getMetricsAsJSON().then(
        // As JSON text: the objects carry functions (collect hooks), which IPC cannot clone.
        (json) => send({ kind: "collected", id: message.id, metrics: JSON.stringify(json) }),
        (error: unknown) => send({ kind: "collect-failed", id: message.id, error: String(error) }),
      );
      return;
    }
    const scrape = scrapes.get(message.id);
    if (!scrape) return;
    scrapes.delete(message.id);
    if (message.kind === "scraped") scrape.resolve(message.text);
    else scrape.reject(new Error(message.error));
  });
  process.on("disconnect", () => {
    logger.error("the primary API process is gone, shutting down");
    onOrphaned();
  });

  return () =>
    new Promise<string>((resolve, reject) => {
      const id = nextId++;
      scrapes.set(id, { resolve, reject });
      send({ kind: "scrape", id });
      // The primary answers within its own COLLECT_TIMEOUT_MS; this only covers a primary that never answers.
      setTimeout(() => {
        if (scrapes.delete(id)) reject(new Error("the primary did not answer the metrics scrape"));
      }, COLLECT_TIMEOUT_MS * 2).unref();
    });
}
