/**
 * kube-score (installed by `make deploy-tools`, pinned) on everything each form applies. Every
 * finding fails the test unless kube-score-ignores.yaml lists it with a reason; an entry matching
 * no finding fails it too.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { clusterForms, ROOT } from "./manifests.ts";

const KUBE_SCORE = join(ROOT, ".tools/bin/kube-score");
const IGNORES = join(import.meta.dir, "kube-score-ignores.yaml");

interface Ignore {
  check: string;
  forms?: string[];
  objects?: string[];
  why: string;
}
interface Finding {
  form: string;
  check: string;
  object: string;
  summary: string;
}
interface Scored {
  type_meta: { kind: string };
  object_meta: { name: string };
  checks: { check: { id: string }; grade: number; skipped: boolean; comments: { summary: string }[] | null }[];
}

const ignores: Ignore[] = parse(readFileSync(IGNORES, "utf8")).ignored;

function score(objects: unknown[]): Scored[] {
  if (!existsSync(KUBE_SCORE)) throw new Error(`kube-score not found at ${KUBE_SCORE}: run \`make deploy-tools\``);
  // As JSON documents: re-emitted YAML 1.2 would leave `yes` unquoted, which kube-score's YAML 1.1 reads as true.
  const input = objects.map((o) => JSON.stringify(o)).join("\n---\n");
  // kube-score exits 1 when it has findings; the JSON says which.
  const result = Bun.spawnSync([KUBE_SCORE, "score", "--output-format", "json", "-"], { stdin: Buffer.from(input) });
  const out = result.stdout.toString();
  if (!out.startsWith("[")) throw new Error(`kube-score failed (${result.exitCode}): ${result.stderr.toString()}`);
  return JSON.parse(out);
}

const matches = (ignore: Ignore, f: Finding) =>
  ignore.check === f.check &&
  (ignore.forms === undefined || ignore.forms.includes(f.form)) &&
  (ignore.objects === undefined || ignore.objects.includes(f.object));

const findings: Finding[] = clusterForms().flatMap(({ form, objects }) =>
  score(objects).flatMap((scored) =>
    scored.checks
      // 10 is OK; 7 and below are kube-score's warnings and criticals.
      .filter((c) => !c.skipped && c.grade < 10)
      .map((c) => ({
        form,
        check: c.check.id,
        object: `${scored.type_meta.kind}/${scored.object_meta.name}`,
        summary: (c.comments ?? []).map((comment) => comment.summary).join("; "),
      })),
  ),
);

describe("kube-score", () => {
  test("every ignore names a check and says why", () => {
    for (const ignore of ignores) {
      expect(ignore.check).toMatch(/^[a-z-]+$/);
      expect(ignore.why?.length ?? 0).toBeGreaterThan(20);
    }
  });

  test("no finding on what kind and GKE apply, beyond the justified ignores", () => {
    const open = findings
      .filter((f) => !ignores.some((ignore) => matches(ignore, f)))
      .map((f) => `${f.form} ${f.object}: ${f.check} (${f.summary})`);
    expect(open).toEqual([]);
  });

  test("every ignore still matches a finding (none is stale)", () => {
    const stale = ignores
      .filter((ignore) => !findings.some((f) => matches(ignore, f)))
      .map((i) => `${i.check} ${i.forms ?? ""} ${i.objects ?? ""}`);
    expect(stale).toEqual([]);
  });
});
