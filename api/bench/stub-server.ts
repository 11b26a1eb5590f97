/**
 * The API with both brokers stubbed in-process (they confirm at once): the real server, listener and
 * request path of api/src/server.ts, measured without the brokers (make bench-api).
 */
import { silentLogger } from "@weather/log";
import { loadApiConfig } from "../src/config.ts";
import { startApi } from "../src/server.ts";
import { FakeBroker } from "../test/support/fake-broker.ts";

const config = loadApiConfig({ ...process.env, API_PORT: process.env.PORT ?? "3902", API_HOST: "127.0.0.1" });
const running = startApi(config, silentLogger, {
  rabbitmq: new FakeBroker("rabbitmq", false),
  kafka: new FakeBroker("kafka", false),
});
console.log(`stubbed api listening on ${running.url}`);
process.on("SIGTERM", () => process.exit(0));
