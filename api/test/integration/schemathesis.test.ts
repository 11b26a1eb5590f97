import { expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { ROOT } from "../../../test/support/index.ts";
import { spawnApi } from "../support/spawned-api.ts";

const ST = `${ROOT}/.tools/venv/bin/st`;
// Fixed seed and a bound per operation: the same cases every run, 20-35 s on this machine.
const SEED = "20260101";
const MAX_EXAMPLES = "500";

/**
 * Schemathesis against the running API's own OpenAPI document, real brokers, every
 * check on (5xx, undocumented status, response schema, content type, headers, schema-
 * valid data refused, schema-invalid data accepted, 405 for undeclared methods...).
 * The API publishes what is accepted to a queue and topic of its own, deleted afterwards.
 */
test("Schemathesis finds no server error and no answer outside the OpenAPI document", async () => {
  if (!existsSync(ST)) throw new Error(`${ST} is missing: run \`make schemathesis-install\``);
  const workDir = `${ROOT}/.state/schemathesis`; // its crash cache, git-ignored
  mkdirSync(workDir, { recursive: true });
  const api = await spawnApi();
  try {
    const run = Bun.spawn(
      [
        ST,
        "run",
        `${api.base}/swagger/json`,
        "--checks=all",
        `--seed=${SEED}`,
        `--max-examples=${MAX_EXAMPLES}`,
        "--generation-database=none",
        "--request-timeout=10",
        "--no-color",
      ],
      { cwd: workDir, stdout: "pipe", stderr: "pipe" },
    );
    const [out, err, code] = await Promise.all([
      new Response(run.stdout).text(),
      new Response(run.stderr).text(),
      run.exited,
    ]);
    if (code !== 0) console.error(out, err);
    expect(code).toBe(0);
    // Every operation was tested, every pattern of the document was usable for generation.
    expect(out).toContain("Tested: 5");
    expect(out).toMatch(/(\d+) generated, \1 passed/);
    expect(out).not.toContain("Unsupported regex");
  } finally {
    await api.stop();
  }
}, 240_000);
