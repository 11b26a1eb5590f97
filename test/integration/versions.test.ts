/**
 * One set of server versions everywhere: the major.minor each running native server reports must
 * equal the one of its image in compose.yaml and in k8s/base, unless the "Versions" table of
 * docs/deployment.md gives a reason. The table must also state what actually runs, so it cannot
 * drift from the servers and the manifests.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import Valkey from "iovalkey";
import { parse, parseAllDocuments } from "yaml";
import { ROOT, stack } from "../support/index.ts";

const SERVERS = ["RabbitMQ", "Kafka", "Valkey", "Redis", "Prometheus"] as const;
type Server = (typeof SERVERS)[number];
/** The compose service and the k8s/base file (and container) of each server. */
const SERVICE: Record<Server, string> = {
  RabbitMQ: "rabbitmq",
  Kafka: "kafka",
  Valkey: "valkey",
  Redis: "redis",
  Prometheus: "prometheus",
};

/** "4.0.5", "v2.53.5", "4.0.9-management", "1:27.3" -> "4.0" / "2.53". */
export function majorMinor(version: string): string {
  const match = /(\d+)\.(\d+)/.exec(version.replace(/^v/, ""));
  if (!match) throw new Error(`no major.minor in "${version}"`);
  return `${match[1]}.${match[2]}`;
}
const tagOf = (image: string) => image.slice(image.lastIndexOf(":") + 1);

interface Documented {
  native: string;
  images: string;
  why: string;
}

/** The rows of the table under "## Versions" in docs/deployment.md. */
export function documentedVersions(markdown: string): Map<string, Documented> {
  const section = markdown.split(/^## /m).find((s) => s.startsWith("Versions"));
  if (!section) throw new Error('docs/deployment.md has no "## Versions" section');
  const rows = new Map<string, Documented>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    // | server | native | images | why |
    if (cells.length < 6 || !/^\d/.test(cells[2] ?? "")) continue;
    rows.set(cells[1] ?? "", { native: cells[2] ?? "", images: cells[3] ?? "", why: cells[4] ?? "" });
  }
  return rows;
}

/** Every disagreement between what runs natively, the image tags and the documentation. */
export function versionProblems(
  server: string,
  running: string,
  images: Record<string, string>,
  documented: Documented | undefined,
): string[] {
  const problems: string[] = [];
  const native = majorMinor(running);
  const imageSeries = new Set(Object.values(images).map((image) => majorMinor(tagOf(image))));
  if (imageSeries.size !== 1) problems.push(`${server}: the images disagree: ${JSON.stringify(images)}`);
  const [image] = imageSeries;
  if (!documented) return [...problems, `${server}: no row in the Versions table of docs/deployment.md`];
  if (documented.native !== native)
    problems.push(`${server}: runs ${native} natively, the docs say ${documented.native}`);
  if (image && documented.images !== image)
    problems.push(`${server}: images are ${image}, the docs say ${documented.images}`);
  if (image && image !== native && documented.why === "") {
    problems.push(`${server}: ${native} natively but ${image} in the images, and docs/deployment.md does not say why`);
  }
  return problems;
}

// ---------- what runs, and what the manifests name ----------

async function runningVersion(server: Server): Promise<string> {
  switch (server) {
    case "RabbitMQ": {
      const response = await fetch(`http://127.0.0.1:${stack.RABBITMQ_MANAGEMENT_PORT}/api/overview`, {
        headers: { authorization: `Basic ${btoa("guest:guest")}` },
      });
      const overview = (await response.json()) as { rabbitmq_version: string };
      return overview.rabbitmq_version;
    }
    case "Valkey":
    case "Redis": {
      const client = new Valkey(server === "Valkey" ? stack.VALKEY_URL : stack.REDIS_URL);
      try {
        const field = server === "Valkey" ? "valkey_version" : "redis_version";
        const info = await client.info("server");
        const version = new RegExp(`^${field}:(\\S+)`, "m").exec(info)?.[1];
        if (!version) throw new Error(`${server} reports no ${field}`);
        return version;
      } finally {
        client.disconnect();
      }
    }
    case "Prometheus": {
      const response = await fetch(`http://127.0.0.1:${stack.PROMETHEUS_PORT}/api/v1/status/buildinfo`);
      return ((await response.json()) as { data: { version: string } }).data.version;
    }
    case "Kafka": {
      // The broker states its version once at start-up, in the log scripts/services.sh gives it.
      const log = readFileSync(join(ROOT, ".state/kafka/log/server.log"), "utf8");
      const version = /Kafka version: (\S+)/.exec(log)?.[1];
      if (!version) throw new Error("the Kafka broker's log states no version");
      return version;
    }
  }
}

// biome-ignore lint/suspicious/noExplicitAny: compose and Kubernetes objects are read structurally
const compose: any = parse(readFileSync(join(ROOT, "compose.yaml"), "utf8"), { merge: true });

function k8sImage(service: string): string {
  const file = join(ROOT, "k8s/base", `${service}.yaml`);
  for (const document of parseAllDocuments(readFileSync(file, "utf8"))) {
    // biome-ignore lint/suspicious/noExplicitAny: read structurally
    const object: any = document.toJS();
    const containers: { name: string; image: string }[] = object?.spec?.template?.spec?.containers ?? [];
    const container = containers.find((c) => c.name === service);
    if (container) return container.image;
  }
  throw new Error(`no container ${service} in ${file}`);
}

const documented = documentedVersions(readFileSync(join(ROOT, "docs/deployment.md"), "utf8"));

describe("server versions: native stack, compose.yaml, k8s/base and docs/deployment.md agree", () => {
  test("the check itself flags an unexplained difference, a stale doc row and disagreeing images", () => {
    const doc = { native: "4.0", images: "4.0", why: "" };
    expect(versionProblems("X", "4.0.5", { compose: "x:4.0.9", k8s: "x:4.0.9" }, doc)).toEqual([]);
    expect(versionProblems("X", "4.0.5", { compose: "x:4.1.4", k8s: "x:4.1.4" }, doc)).toHaveLength(2);
    expect(
      versionProblems("X", "4.0.5", { compose: "x:4.1.4", k8s: "x:4.1.4" }, { ...doc, images: "4.1", why: "because" }),
    ).toEqual([]);
    expect(versionProblems("X", "4.0.5", { compose: "x:4.0.9", k8s: "x:4.1.4" }, doc)).toHaveLength(1);
    expect(versionProblems("X", "3.10.8", { compose: "x:4.0.9", k8s: "x:4.0.9" }, doc)).toHaveLength(2);
    expect(majorMinor("v2.53.5")).toBe("2.53");
    expect(majorMinor("4.0.9-management")).toBe("4.0");
  });

  test.each([...SERVERS])("%s", async (server) => {
    const service = SERVICE[server];
    const running = await runningVersion(server);
    const images = { "compose.yaml": compose.services[service].image as string, "k8s/base": k8sImage(service) };
    expect(versionProblems(server, running, images, documented.get(server))).toEqual([]);
  });
});
