import { describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadStackConfig } from "@weather/config";
import { ROOT } from "../support/stack.ts";

/** `.env.example` as a map of its assignments. */
async function envExample(): Promise<Record<string, string>> {
  const text = await Bun.file(join(ROOT, ".env.example")).text();
  return Object.fromEntries(
    text
      .split("\n")
      .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1] as string, match[2] as string]),
  );
}

describe("one loader, one rule: environment, then .env, then .env.example", () => {
  test("through make: the environment wins over .env, which wins over .env.example", () => {
    // A copy of the make files in a folder of its own, so that its .env is the test's alone.
    const dir = mkdtempSync(join(tmpdir(), "weather-env-"));
    try {
      for (const path of ["Makefile", "mk", "scripts/lib/env.sh", ".env.example", ".bun-version"]) {
        cpSync(join(ROOT, path), join(dir, path), { recursive: true });
      }
      writeFileSync(join(dir, ".env"), "API_PORT=3999\nKAFKA_TOPIC=from-dotenv\n");
      const run = Bun.spawnSync(["make", "-s", "env", "KAFKA_CONSUMER_PORT=3777"], {
        cwd: dir,
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", API_PORT: "4000", HOME: dir },
      });
      expect(run.stderr.toString()).toBe("");
      const printed = Object.fromEntries(
        run.stdout
          .toString()
          .trim()
          .split("\n")
          .map((line) => line.split("=", 2) as [string, string]),
      );
      expect(printed.API_PORT).toBe("4000"); // environment over .env
      expect(printed.KAFKA_CONSUMER_PORT).toBe("3777"); // make's command line over .env.example
      expect(printed.KAFKA_TOPIC).toBe("from-dotenv"); // .env over .env.example
      expect(printed.RABBITMQ_QUEUE).toBe("message"); // .env.example when nothing else says
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the TypeScript defaults (config schemas) are .env.example's values", async () => {
    const example = await envExample();
    const defaults = loadStackConfig({}) as Record<string, unknown>;
    const shared = Object.keys(defaults).filter((key) => key in example);
    expect(shared.length).toBeGreaterThan(10);
    for (const key of shared) expect(`${key}=${String(defaults[key])}`).toBe(`${key}=${example[key]}`);
  });
});
