import { describe, expect, test } from "bun:test";
import { Type } from "@sinclair/typebox";
import { ConfigError, loadConfig } from "../src/index.ts";

const Schema = Type.Object({
  PORT: Type.Integer({ minimum: 1, maximum: 65535, default: 3000 }),
  BATCH_MAX_WAIT_MS: Type.Number({ minimum: 0, default: 5 }),
  BROKER_URL: Type.String({ pattern: "^amqps?://" }),
  VERBOSE: Type.Boolean({ default: false }),
});

describe("loadConfig", () => {
  test("applies defaults and converts strings", () => {
    const config = loadConfig(Schema, { BROKER_URL: "amqp://x", BATCH_MAX_WAIT_MS: "2.5", VERBOSE: "true" });
    expect(config).toEqual({ PORT: 3000, BATCH_MAX_WAIT_MS: 2.5, BROKER_URL: "amqp://x", VERBOSE: true });
  });

  test("names the variable and the rule it broke", () => {
    let caught: unknown;
    try {
      loadConfig(Schema, { PORT: "70000", BROKER_URL: "http://x" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems.map((p) => p.variable).sort()).toEqual(["BROKER_URL", "PORT"]);
    expect((caught as Error).message).toContain('PORT: Expected integer to be less or equal to 65535 (got "70000")');
  });

  test("reports a missing required variable", () => {
    expect(() => loadConfig(Schema, {})).toThrow(/BROKER_URL: .*\(not set\)/);
  });
});
