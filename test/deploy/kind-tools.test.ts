/**
 * The Go tools of the deployment targets: pinned, and re-installed when the binary in .tools/bin was
 * built from another version (read from the binary with `go version -m`, so it works for tools with
 * no --version flag, like cloud-provider-kind). And kind's Gateway: cloud-provider-kind must be a
 * release whose Gateway controller is on (from v0.9.0 by default; v0.7.0 had none).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { find, KUSTOMIZE, kustomizeBuild, ROOT } from "./manifests.ts";

const GATEWAY_ON_BY_DEFAULT = [0, 9, 0];
const kindTest = readFileSync(join(ROOT, "kind/kind-test.sh"), "utf8");
const work = mkdtempSync(join(tmpdir(), "go-tool-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const semver = (v: string) => v.replace(/^v/, "").split(".").map(Number);
const atLeast = (v: number[], min: number[]) => {
  for (let i = 0; i < min.length; i++) if ((v[i] ?? 0) !== (min[i] ?? 0)) return (v[i] ?? 0) > (min[i] ?? 0);
  return true;
};

describe("kind's cloud-provider-kind", () => {
  test("is pinned to a release whose Gateway controller is on, and run with the standard channel", () => {
    const pinned = kindTest.match(/^CLOUD_PROVIDER_KIND_VERSION=(v[\d.]+)$/m)?.[1];
    expect(pinned).toBeDefined();
    expect({ pinned, gatewayOnByDefault: atLeast(semver(pinned as string), GATEWAY_ON_BY_DEFAULT) }).toEqual({
      pinned,
      gatewayOnByDefault: true,
    });
    const started = kindTest.match(/^cloud-provider-kind( .*)?>/m)?.[0] ?? "";
    expect(started).toContain("--gateway-channel standard");
    // The overlay's GatewayClass is the one cloud-provider-kind's controller serves.
    expect(find(kustomizeBuild("kind"), "Gateway", "weather-tweets").spec.gatewayClassName).toBe("cloud-provider-kind");
  });

  test("is installed through the version check, never reused just because a binary exists", () => {
    expect(kindTest).toContain(
      'scripts/lib/go-tool.sh" "$TOOLS" cloud-provider-kind "sigs.k8s.io/cloud-provider-kind@$CLOUD_PROVIDER_KIND_VERSION"',
    );
    expect(kindTest).toContain('scripts/lib/go-tool.sh" "$TOOLS" kind "sigs.k8s.io/kind@$KIND_VERSION"');
    expect(kindTest).not.toMatch(/\[\[ -x [^\]]*cloud-provider-kind/);
  });
});

describe("scripts/lib/go-tool.sh", () => {
  const realGo = Bun.which("go") as string;
  // `go version -m` is real (it reads the binary); `go install` only records that it was asked.
  const fakeGoDir = join(work, "fake-go");
  mkdirSync(fakeGoDir);
  const installs = join(work, "installs.log");
  writeFileSync(
    join(fakeGoDir, "go"),
    `#!${Bun.which("bash")}\n[[ "$1" == install ]] && { echo "$GOBIN $2" >> "${installs}"; exit 0; }\nexec "${realGo}" "$@"\n`,
  );
  chmodSync(join(fakeGoDir, "go"), 0o755);
  const goTool = (bin: string, name: string, spec: string) => {
    rmSync(installs, { force: true });
    const result = Bun.spawnSync(["bash", join(ROOT, "scripts/lib/go-tool.sh"), bin, name, spec], {
      env: { PATH: `${fakeGoDir}:/usr/bin:/bin`, HOME: work, GOCACHE: join(work, "gocache") },
      stderr: "pipe",
    });
    let asked: string[] = [];
    try {
      asked = readFileSync(installs, "utf8").trim().split("\n");
    } catch {}
    return { code: result.exitCode, err: result.stderr.toString(), installs: asked };
  };

  test("keeps a binary built from exactly the pinned package and version", () => {
    const bin = join(work, "bin-ok");
    mkdirSync(bin);
    copyFileSync(KUSTOMIZE, join(bin, "kustomize"));
    const { code, err, installs: asked } = goTool(bin, "kustomize", "sigs.k8s.io/kustomize/kustomize/v5@v5.7.1");
    expect({ code, err: err.trim(), asked }).toEqual({ code: 0, err: "kustomize v5.7.1 present", asked: [] });
  });

  test("re-installs a binary of another version or package, or one that is not a Go binary at all", () => {
    const bin = join(work, "bin-stale");
    mkdirSync(bin);
    copyFileSync(KUSTOMIZE, join(bin, "cloud-provider-kind"));
    const stale = goTool(bin, "cloud-provider-kind", "sigs.k8s.io/cloud-provider-kind@v0.10.0");
    expect(stale.installs).toEqual([`${bin} sigs.k8s.io/cloud-provider-kind@v0.10.0`]);
    // The fake install changed nothing, and the script notices instead of trusting it.
    expect(stale.code).toBe(1);
    expect(stale.err).toContain("is sigs.k8s.io/kustomize/kustomize/v5@v5.7.1 after installing");

    copyFileSync(KUSTOMIZE, join(bin, "kustomize"));
    expect(goTool(bin, "kustomize", "sigs.k8s.io/kustomize/kustomize/v5@v5.6.0").installs).toEqual([
      `${bin} sigs.k8s.io/kustomize/kustomize/v5@v5.6.0`,
    ]);
    writeFileSync(join(bin, "kind"), "#!/bin/sh\necho kind v0.30.0\n");
    chmodSync(join(bin, "kind"), 0o755);
    expect(goTool(bin, "kind", "sigs.k8s.io/kind@v0.30.0").installs).toEqual([`${bin} sigs.k8s.io/kind@v0.30.0`]);
  });
});
