/**
 * Dockerfile: linted with dockerfile-utils (the checker behind VS Code's Docker support; no
 * Docker needed), shaped as the issue asks, and its dependency stage replayed here: the same
 * files copied, the same `bun install --production --filter`, then every import of each
 * service bundled, which fails if a service imports anything its production install lacks.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { DockerfileParser } from "dockerfile-ast";
import { ValidationSeverity, validate } from "dockerfile-utils";
import { DEPLOYABLES, ROOT } from "./manifests.ts";

const TEXT = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const dockerfile = DockerfileParser.parse(TEXT);
const BUN = process.execPath;
/** A production install and a bundle per service: seconds, more on a busy machine. */
const INSTALL_TIMEOUT_MS = 120_000;

const LINES = TEXT.split("\n");
/** An instruction's text after its keyword, flags included, continuation lines joined. */
function rawArguments(range: { start: { line: number; character: number }; end: { line: number; character: number } }) {
  const text = LINES.slice(range.start.line, range.end.line + 1)
    .join("\n")
    .slice(range.start.character);
  return text
    .replace(/\\\n\s*/g, "")
    .replace(/^\S+\s+/, "")
    .trim();
}

interface Stage {
  name: string;
  from: string;
  instructions: { keyword: string; args: string }[];
}
const stages: Stage[] = dockerfile.getFROMs().map((from, index, all) => {
  const start = from.getRange().start.line;
  const end = all[index + 1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
  return {
    name: from.getBuildStage() ?? String(index),
    from: from.getImageName() ?? "",
    instructions: dockerfile
      .getInstructions()
      .filter((i) => i.getRange().start.line > start && i.getRange().start.line < end)
      .map((i) => ({ keyword: i.getKeyword(), args: rawArguments(i.getRange()) })),
  };
});
const stage = (name: string): Stage => {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name}`);
  return found;
};
/** A target's instructions, its base stages' first. */
function chain(name: string): Stage["instructions"] {
  const s = stage(name);
  const base = stages.find((b) => b.name === s.from);
  return [...(base ? chain(base.name) : []), ...s.instructions];
}

describe("Dockerfile", () => {
  test("lints clean with every dockerfile-utils check enabled", () => {
    const all = ValidationSeverity.ERROR;
    const diagnostics = validate(TEXT, {
      deprecatedMaintainer: all,
      directiveCasing: all,
      emptyContinuationLine: all,
      instructionCasing: all,
      instructionCmdMultiple: all,
      instructionEntrypointMultiple: all,
      instructionHealthcheckMultiple: all,
      instructionJSONInSingleQuotes: all,
      instructionWorkdirRelative: all,
    });
    expect(diagnostics.map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  });

  test("names no remote frontend: a `# syntax=` line makes every BuildKit build contact Docker Hub", () => {
    expect(TEXT.split("\n").filter((line) => /^#\s*syntax\s*=/i.test(line))).toEqual([]);
  });

  test("the linter reports real mistakes", () => {
    const bad = "FROM x\nworkdir rel\nHEALTHCHECK CMD a\nHEALTHCHECK CMD b\nEXPOSE abc\n";
    expect(
      validate(bad, { instructionWorkdirRelative: 2, instructionHealthcheckMultiple: 2 }).length,
    ).toBeGreaterThanOrEqual(3);
  });

  test("every image is the official Bun image, pinned to the project's Bun version", () => {
    const pinned = TEXT.match(/^ARG BUN_VERSION=(\S+)$/m)?.[1];
    expect(pinned).toBe(readFileSync(join(ROOT, ".bun-version"), "utf8").trim());
    const external = stages.filter((s) => !stages.some((b) => b.name === s.from)).map((s) => s.from);
    expect(external.length).toBeGreaterThan(0);
    for (const image of external) expect(image).toBe("oven/bun");
    for (const line of TEXT.split("\n").filter((l) => l.startsWith("FROM oven/bun"))) {
      expect(line).toMatch(/^FROM oven\/bun:\$\{BUN_VERSION\}-slim AS /);
    }
  });

  test.each([...DEPLOYABLES])("%s: non-root, health-checked, started by CMD", (target) => {
    const instructions = chain(target);
    const users = instructions.filter((i) => i.keyword === "USER").map((i) => i.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(0|root)(:|$)/);
    const healthcheck = instructions.filter((i) => i.keyword === "HEALTHCHECK").at(-1);
    // Healthy means ready (dependencies reachable), so `compose up --wait` and `service_healthy` wait for it.
    expect(healthcheck?.args).toContain("/readyz");
    const cmd = instructions.filter((i) => i.keyword === "CMD").at(-1)?.args ?? "";
    const service = target === "api" ? "api" : "consumers";
    expect(JSON.parse(cmd)).toEqual(["bun", `${service}/src/main.ts`]);
    // The dependencies come from a production-only install of this service's workspace.
    const deps = instructions.find((i) => i.keyword === "COPY" && i.args.startsWith("--from="))?.args ?? "";
    const depsStage = deps.match(/--from=(\S+)/)?.[1] ?? "";
    const install = chain(depsStage).find((i) => i.keyword === "RUN")?.args ?? "";
    expect(install).toBe(`bun install --frozen-lockfile --production --filter ${service}`);
  });

  test("copies every workspace package the services depend on", () => {
    for (const service of ["api", "consumers"]) {
      const manifest = JSON.parse(readFileSync(join(ROOT, service, "package.json"), "utf8"));
      const workspaceDeps = Object.entries<string>(manifest.dependencies).filter(([, v]) => v.startsWith("workspace:"));
      expect(workspaceDeps.length).toBeGreaterThan(0);
      for (const [name] of workspaceDeps) {
        const folder = `packages/${name.replace("@weather/", "")}`;
        expect(TEXT).toContain(`COPY ${folder}/package.json ${folder}/`);
        expect(TEXT).toContain(`COPY ${folder}/src ${folder}/src`);
      }
    }
  });

  test("the API image carries the Swagger UI assets (no CDN at run time)", () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, "api/package.json"), "utf8"));
    expect(Object.keys(manifest.dependencies)).toContain("swagger-ui-dist");
  });

  describe("production install replayed from the Dockerfile's COPY lines", () => {
    const work = mkdtempSync(join(tmpdir(), "weather-image-"));
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    /** Copies `src dest` pairs of the COPY instructions (without --from) of a stage chain. */
    function replayCopies(target: string, into: string): void {
      for (const { keyword, args } of chain(target)) {
        if (keyword !== "COPY" || args.includes("--from=")) continue;
        const parts = args.split(/\s+/);
        const dest = parts.pop() ?? ".";
        for (const source of parts) {
          const to =
            dest.endsWith("/") || parts.length > 1 ? join(into, dest, source.split("/").pop() ?? "") : join(into, dest);
          mkdirSync(dirname(to), { recursive: true });
          cpSync(join(ROOT, source), to, { recursive: true });
        }
      }
    }

    test.each([
      ["api", "api-deps"],
      ["kafka-consumer", "consumer-deps"],
    ])(
      "%s: frozen production install, then every import resolves",
      (target, depsStage) => {
        const dir = join(work, target);
        replayCopies(depsStage, dir);
        const install =
          stage(depsStage)
            .instructions.find((i) => i.keyword === "RUN")
            ?.args.split(" ") ?? [];
        const installed = Bun.spawnSync([BUN, ...install.slice(1)], { cwd: dir, stdout: "pipe", stderr: "pipe" });
        expect(installed.exitCode === 0 ? "" : installed.stderr.toString()).toBe("");
        replayCopies(target, dir);
        const entry = JSON.parse(
          chain(target)
            .filter((i) => i.keyword === "CMD")
            .at(-1)?.args ?? "[]",
        )[1];
        // Bundling resolves every import without running anything.
        const bundled = Bun.spawnSync([BUN, "build", "--target=bun", entry, "--outdir", join(dir, ".bundle")], {
          cwd: dir,
          stdout: "pipe",
          stderr: "pipe",
        });
        expect(bundled.exitCode === 0 ? "" : bundled.stderr.toString()).toBe("");
        // No dev-only tooling in the production tree.
        expect(Bun.spawnSync(["test", "-e", join(dir, "node_modules/@biomejs")]).exitCode).not.toBe(0);
      },
      INSTALL_TIMEOUT_MS,
    );
  });
});
