import { ConfigError } from "@weather/config";
import { createLogger } from "@weather/log";
import { loadConsumerConfig } from "./config.ts";
import { ConsumerService } from "./service.ts";

/** SIGTERM must end the process within 10 s (the platform's grace period), whatever hangs. */
const HARD_EXIT_MS = 9500;

let config: ReturnType<typeof loadConsumerConfig>;
try {
  config = loadConsumerConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(2);
}

const log = createLogger(config.LOG_LEVEL, { service: `${config.CONSUMER_SOURCE}-consumer`, pid: process.pid });
const service = new ConsumerService(config, log);

let exiting = false;
async function shutdown(code: number, why: string): Promise<void> {
  if (exiting) return;
  exiting = true;
  log.info("shutting down", { why });
  setTimeout(() => process.exit(code === 0 ? 1 : code), HARD_EXIT_MS).unref();
  await service.close();
  process.exit(code);
}

process.on("SIGTERM", () => void shutdown(0, "SIGTERM"));
process.on("SIGINT", () => void shutdown(0, "SIGINT"));

try {
  await service.start((error) => {
    log.error("fatal", { error });
    void shutdown(1, error.message);
  });
} catch (error) {
  log.error("start-up failed", { error });
  await shutdown(1, "start-up failed");
}
