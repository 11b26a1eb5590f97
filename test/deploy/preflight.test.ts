/**
 * The deployment targets' shell side, run for real with a PATH that lacks tools or holds stand-ins
 * for docker, gcloud, kubectl and openssl that record their calls (nothing here may touch a real
 * registry or cluster): preflight messages, the build/push loop stopping at the first failure,
 * Secrets never created empty, the kubectl context checked and named, Certificate Manager calls.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GKE_EXTERNAL_SECRETS, ROOT } from "./manifests.ts";

const work = mkdtempSync(join(tmpdir(), "preflight-test-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A bin folder with only the basics a recipe needs (no docker, kubectl, gcloud, openssl, go, curl). */
const basics = join(work, "basics");
Bun.spawnSync(["mkdir", "-p", basics]);
for (const tool of ["bash", "sh", "make", "cat", "git", "mkdir", "grep", "awk", "sed", "tr", "head", "env"]) {
  const path = Bun.which(tool);
  if (path) symlinkSync(path, join(basics, tool));
}

let fakeCount = 0;
/** A folder of stand-in commands: name -> bash body; each call is appended to calls.log first. */
function fakes(scripts: Record<string, string>): { dir: string; calls: () => string[] } {
  const dir = join(work, `fakes-${fakeCount++}`);
  Bun.spawnSync(["mkdir", "-p", dir]);
  const log = join(dir, "calls.log");
  for (const [name, body] of Object.entries(scripts)) {
    const file = join(dir, name);
    writeFileSync(file, `#!${Bun.which("bash")}\necho "${name} $*" >> "${log}"\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return { dir, calls: () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []) };
}

function run(cmd: string[], path: string[], env: Record<string, string> = {}) {
  const result = Bun.spawnSync(cmd, {
    cwd: ROOT,
    env: { PATH: path.join(":"), HOME: work, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  return { code: result.exitCode, out: result.stdout.toString() + result.stderr.toString() };
}
const preflight = (target: string, path: string[], env: Record<string, string> = {}) =>
  run([Bun.which("bash") as string, "scripts/lib/preflight.sh", target], path, env);
const make = (args: string[], path: string[]) => run(["make", "--no-print-directory", ...args], path);

const dockerUp = { docker: 'case "$1" in info) exit 0;; compose) echo "2.29.7";; esac' };

describe("preflight.sh", () => {
  test("with none of the tools on PATH, each target names every missing one and what to do", () => {
    const cases: Record<string, string[]> = {
      up: ["docker not found on PATH: install Docker Engine"],
      "kind-test": ["docker not found", "kubectl not found", "go not found", "curl not found"],
      "gke-build": ["gcloud not found", "docker not found"],
      "gke-secrets": ["kubectl not found", "openssl not found on PATH: apt-get install openssl"],
      "gke-deploy": ["gcloud not found", "docker not found", "kubectl not found", "openssl not found"],
      "gke-tls": ["gcloud not found"],
    };
    const env = { PROJECT: "p", REGION: "r", DOMAIN: "d.example", KUBE_CONTEXT: "gke_p_r_c" };
    for (const [target, messages] of Object.entries(cases)) {
      const { code, out } = preflight(target, [basics], env);
      expect({ target, code }).toEqual({ target, code: 1 });
      expect(out).toContain(`make ${target} cannot start:`);
      for (const message of messages) expect(out).toContain(message);
    }
  });

  test("settings: PROJECT, REGION, DOMAIN, and which cluster is intended", () => {
    const { code, out } = preflight("gke-deploy", [basics]);
    expect(code).toBe(1);
    for (const name of ["PROJECT", "REGION", "DOMAIN"]) expect(out).toContain(`${name} is not set`);
    expect(out).toContain("the intended cluster is unknown");
  });

  test("a Docker CLI without a running engine, and Compose v1, are named", () => {
    const down = fakes({
      docker:
        'case "$1" in info) echo "Cannot connect to the Docker daemon" >&2; exit 1;; compose) echo "1.29.2";; esac',
    });
    const { code, out } = preflight("up", [down.dir, basics]);
    expect(code).toBe(1);
    expect(out).toContain("the Docker engine is not reachable (docker info: Cannot connect to the Docker daemon)");
    expect(out).toContain("Docker Compose 1.29.2 found, v2 or later needed");
    const up = fakes(dockerUp);
    expect(preflight("up", [up.dir, basics])).toEqual({ code: 0, out: "" });
  });

  test("kubectl pointing at another cluster is refused, naming both contexts", () => {
    const tools = fakes({ kubectl: 'echo "gke_other_r_c"', openssl: "" });
    const { code, out } = preflight("gke-secrets", [tools.dir, basics], { KUBE_CONTEXT: "gke_p_r_c" });
    expect(code).toBe(1);
    expect(out).toContain("kubectl's current context is 'gke_other_r_c', not 'gke_p_r_c'");
  });
});

describe("make gke-build", () => {
  const gkeVars = ["PROJECT=p", "REGION=europe-west1", "IMAGE_TAG=t1"];
  test("stops at the first failed build: nothing pushed, nothing more built", () => {
    const tools = fakes({
      ...dockerUp,
      docker: `case "$1" in info) exit 0;; build) [[ "$*" == *"/api:t1"* ]] && exit 1;; esac; exit 0`,
      gcloud: "exit 0",
    });
    const { code } = make(["gke-build", ...gkeVars], [tools.dir, basics]);
    expect(code).not.toBe(0);
    const docker = tools.calls().filter((c) => c.startsWith("docker ") && !c.startsWith("docker info"));
    expect(docker).toEqual([
      `docker build --target api --tag europe-west1-docker.pkg.dev/p/weather-tweets/api:t1 ${ROOT}`,
    ]);
  });

  test("builds and pushes each image in turn when all goes well", () => {
    const tools = fakes({ docker: 'case "$1" in info) exit 0;; esac; exit 0', gcloud: "exit 0" });
    expect(make(["gke-build", ...gkeVars], [tools.dir, basics]).code).toBe(0);
    const docker = tools.calls().filter((c) => /^docker (build|push)/.test(c));
    expect(docker.map((c) => c.split(" ").slice(0, 2).join(" ") + (c.match(/\/([a-z-]+):t1/)?.[1] ?? ""))).toEqual([
      "docker buildapi",
      "docker pushapi",
      "docker buildrabbitmq-consumer",
      "docker pushrabbitmq-consumer",
      "docker buildkafka-consumer",
      "docker pushkafka-consumer",
    ]);
  });
});

describe("make gke-secrets", () => {
  const context = "gke_p_europe-west1_weather-tweets";
  const kubectl = `
    [[ "$1" == --context ]] && { [[ "$2" == "${context}" ]] || exit 9; shift 2; }
    case "$*" in
      "config current-context") echo "${context}";;
      "get namespace"*) exit 0;;
      *"get secret"*) exit 1;;
    esac
    exit 0`;
  const vars = ["PROJECT=p", "REGION=europe-west1"];
  const created = (calls: string[]) => calls.filter((c) => c.includes("create secret"));

  test("without openssl: refuses before creating anything", () => {
    const tools = fakes({ kubectl });
    const { code, out } = make(["gke-secrets", ...vars], [tools.dir, basics]);
    expect(code).not.toBe(0);
    expect(out).toContain("openssl not found on PATH");
    expect(created(tools.calls())).toEqual([]);
  });

  test("an openssl that prints nothing: no Secret with an empty password", () => {
    const tools = fakes({ kubectl, openssl: "exit 0" });
    const { code, out } = make(["gke-secrets", ...vars], [tools.dir, basics]);
    expect(code).not.toBe(0);
    expect(out).toContain("gave no usable password: no Secret created");
    expect(created(tools.calls())).toEqual([]);
  });

  test("with openssl: random hex passwords, the keys the manifests and KEDA read, on the intended context", () => {
    const openssl = Bun.which("openssl") as string;
    const tools = fakes({ kubectl, openssl: `exec ${openssl} "$@"` });
    const { code, out } = make(["gke-secrets", ...vars], [tools.dir, basics]);
    expect({ code, out }).toEqual({ code: 0, out: expect.any(String) });
    const secrets = created(tools.calls());
    expect(secrets).toHaveLength(3);
    for (const call of tools.calls().filter((c) => c.startsWith("kubectl ") && !c.includes("current-context")))
      expect(call.startsWith(`kubectl --context ${context} `)).toBe(true);
    const literals = (name: string) =>
      Object.fromEntries(
        [...(secrets.find((c) => c.includes(`generic ${name} `)) ?? "").matchAll(/--from-literal=([\w-]+)=(\S+)/g)].map(
          (m) => [m[1], m[2]],
        ),
      );
    const rabbit = literals("rabbitmq-credentials");
    const grafana = literals("grafana-admin");
    const cookie = literals("rabbitmq-erlang-cookie");
    expect(Object.keys(rabbit).sort()).toEqual(Object.keys(GKE_EXTERNAL_SECRETS["rabbitmq-credentials"] ?? {}).sort());
    expect(Object.keys(grafana).sort()).toEqual(Object.keys(GKE_EXTERNAL_SECRETS["grafana-admin"] ?? {}).sort());
    expect(Object.keys(cookie)).toEqual(Object.keys(GKE_EXTERNAL_SECRETS["rabbitmq-erlang-cookie"] ?? {}));
    expect(rabbit.password).toMatch(/^[0-9a-f]{48}$/);
    expect(grafana.password).toMatch(/^[0-9a-f]{32}$/);
    // The HA RabbitMQ nodes' shared Erlang cookie (gke-ha reads it from this Secret).
    expect(cookie.cookie).toMatch(/^[0-9a-f]{64}$/);
    expect(rabbit["keda-host"]).toBe(`amqp://weather:${rabbit.password}@rabbitmq.weather-tweets.svc:5672/`);
    const fixture = new URL(GKE_EXTERNAL_SECRETS["rabbitmq-credentials"]?.["keda-host"] as string);
    expect(new URL(rabbit["keda-host"] as string).host).toBe(fixture.host);
  });
});

test("make gke-tls: address, DNS authorization, certificate for DOMAIN, map and entry, in the project", () => {
  const tools = fakes({ gcloud: '[[ "$*" == *" describe "* ]] && exit 1; exit 0' });
  const { code } = make(["gke-tls", "PROJECT=p", "DOMAIN=weather.test.example"], [tools.dir, basics]);
  expect(code).toBe(0);
  const creates = tools.calls().filter((c) => c.includes(" create "));
  expect(creates).toEqual([
    "gcloud --project p --quiet compute addresses create weather-tweets --global",
    "gcloud --project p --quiet certificate-manager dns-authorizations create weather-tweets --domain=weather.test.example",
    "gcloud --project p --quiet certificate-manager certificates create weather-tweets --domains=weather.test.example --dns-authorizations=weather-tweets",
    "gcloud --project p --quiet certificate-manager maps create weather-tweets",
    "gcloud --project p --quiet certificate-manager maps entries create weather-tweets --map=weather-tweets --hostname=weather.test.example --certificates=weather-tweets",
  ]);
});
