import { ConfigError } from "@weather/config";
import { createLogger } from "@weather/log";
import { loadApiConfig } from "./config.ts";
import { startApi } from "./server.ts";

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

const logger = createLogger(config.LOG_LEVEL, { service: "api" });
const api = startApi(config, logger);

// Exit 0 within 10 s: the grace period bounds the drain, this timer bounds the rest.
const HARD_EXIT_MS = 10_000;
const onSignal = (signal: string) => {
  logger.info("shutting down", { signal });
  setTimeout(() => {
    logger.error("shutdown took too long, exiting");
    process.exit(1);
  }, HARD_EXIT_MS - 500).unref();
  api.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error("shutdown failed", { error: String(error) });
      process.exit(1);
    },
  );
};
process.once("SIGTERM", () => onSignal("SIGTERM"));
process.once("SIGINT", () => onSignal("SIGINT"));
