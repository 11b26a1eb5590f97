import { describe, expect, test } from "bun:test";
import { ConfigError } from "@weather/config";
import { loadApiConfig } from "../../src/config.ts";

describe("ApiConfig", () => {
  test("defaults match .env.example (the native services on loopback)", async () => {
    const config = loadApiConfig({});
    const example = Object.fromEntries(
      (await Bun.file(`${import.meta.dir}/../../../.env.example`).text())
        .split("\n")
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => line.split("=", 2) as [string, string]),
    );
    for (const key of [
      "API_PORT",
      "RABBITMQ_URL",
      "RABBITMQ_QUEUE",
      "KAFKA_BROKERS",
      "KAFKA_TOPIC",
      "KAFKA_TOPIC_PARTITIONS",
    ]) {
      expect(String(config[key as keyof typeof config])).toBe(example[key] as string);
    }
    expect(config.KAFKA_CLIENT).toBe("platformatic");
    expect(config.PUBLISH_TIMEOUT_MS).toBe(5000);
    expect(config.BODY_MAX_BYTES).toBe(16384);
  });

  test("fails fast naming each variable and the rule it broke", () => {
    let error: unknown;
    try {
      loadApiConfig({ API_PORT: "eighty", KAFKA_CLIENT: "librdkafka", RABBITMQ_URL: "http://x" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const variables = (error as ConfigError).problems.map((p) => p.variable).sort();
    expect(variables).toEqual(["API_PORT", "KAFKA_CLIENT", "RABBITMQ_URL"]);
    expect((error as ConfigError).message).toContain('"eighty"');
  });
});
