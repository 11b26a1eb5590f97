import { ConfigError } from "@weather/config";
import { createLogger } from "@weather/log";
import { loadConsumerConfig } from "./config.ts";
import { ConsumerService } from "./service.ts";

let config: ReturnType<typeof loadConsumerConfig>;
try {
  config = loadConsumerConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

const logger = createLogger(config.LOG_LEVEL, { service: `${config.CONSUMER_SOURCE}-consumer`, pid: process.pid });
const service = new ConsumerService(config, logger);
/** The drain gets SHUTDOWN_TIMEOUT_MS; closing connections afterwards gets this much more, whatever hangs. */
const HARD_EXIT_MS = config.SHUTDOWN_TIMEOUT_MS + 1500;

let exiting = false;
async function shutdown(code: number, why: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  logger.info("shutting down", { why });
  setTimeout(() => process.exit(code === 0 ? 1 : code), HARD_EXIT_MS).unref();
  await service.close();
  process.exit(code);
}

process.on("SIGTERM", () => void shutdown(0, "SIGTERM"));
process.on("SIGINT", () => void shutdown(0, "SIGINT"));

service
  .start((error) => {
    logger.error("fatal", { error });
    void shutdown(1, error.message);
  })
  .catch((error: unknown) => {
    logger.error("start-up failed", { error });
    void shutdown(1, "start-up failed");
  });
