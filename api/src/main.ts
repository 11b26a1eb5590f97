import { ConfigError } from "@weather/config";
import { createLogger } from "@weather/log";
import { runPrimary } from "./cluster/primary.ts";
import { WORKER_ENV } from "./cluster/protocol.ts";
import { loadApiConfig } from "./config.ts";
import { shutdownBudgetMs, startApi } from "./server.ts";

let config: ReturnType<typeof loadApiConfig>;
try {
  config = loadApiConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

const worker = process.env[WORKER_ENV];
const logger = createLogger(config.LOG_LEVEL, { service: "api", ...(worker ? { worker: Number(worker) } : {}) });
if (config.API_PROCESSES > 1 && worker === undefined) {
  runPrimary({
    processes: config.API_PROCESSES,
    entry: import.meta.path,
    shutdownBudgetMs: shutdownBudgetMs(config),
    logger,
  });
} else {
  serve(worker ? { ...config, KAFKA_CLIENT_ID: `${config.KAFKA_CLIENT_ID}-${worker}` } : config);
}

function serve(config: ReturnType<typeof loadApiConfig>): void {
  const api = startApi(config, logger);

  // The shutdown delay, the drain and the broker close each have a bound; past their sum, exit anyway.
  // Kubernetes' terminationGracePeriodSeconds is checked against the same sum (test/deploy).
  const hardExitMs = shutdownBudgetMs(config);
  let stopping = false;
  const onSignal = (signal: string) => {
    // Handled once, and later signals ignored rather than left to their default (exit at once): a
    // terminal's Ctrl-C reaches every process of the group, so with API_PROCESSES > 1 a worker gets
    // SIGINT from the terminal and again from the primary.
    if (stopping) return;
    stopping = true;
    logger.info("shutting down", { signal, hardExitMs });
    setTimeout(() => {
      logger.error("shutdown took too long, exiting");
      process.exit(1);
    }, hardExitMs).unref();
    api.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
}
