/**
 * Shared helpers of the deployment tests: render kustomize overlays with the real binary,
 * parse YAML with the `yaml` library, validate each object with the `kubernetes-models`
 * family (Kubernetes, Gateway API, KEDA and GKE schemas, all offline).
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";

export const ROOT = resolve(import.meta.dir, "../..");
export const KUSTOMIZE = join(ROOT, ".tools/bin/kustomize");

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form; tests narrow what they read
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  [key: string]: any;
}

/** Every YAML document of a text, as plain objects; a syntax error fails loudly. */
export function parseYamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join("\n"));
    const value = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

function run(cmd: string[]): string {
  const result = Bun.spawnSync(cmd, { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} failed (${result.exitCode}):\n${result.stderr.toString()}`);
  }
  return result.stdout.toString();
}

/** Renders are cached: every test file of the run reads the same objects (and must not change them). */
const renders = new Map<string, K8sObject[]>();
function cached(key: string, render: () => K8sObject[]): K8sObject[] {
  let objects = renders.get(key);
  if (!objects) {
    objects = render();
    renders.set(key, objects);
  }
  return objects;
}

/** `kustomize build --load-restrictor LoadRestrictionsNone <dir>`, parsed. */
export function kustomizeBuild(dir: string): K8sObject[] {
  if (!existsSync(KUSTOMIZE)) {
    throw new Error(`kustomize not found at ${KUSTOMIZE}: run \`make deploy-tools\` first`);
  }
  return cached(
    `kustomize ${dir}`,
    () =>
      parseYamlDocuments(run([KUSTOMIZE, "build", "--load-restrictor", "LoadRestrictionsNone", dir])) as K8sObject[],
  );
}

/** Output of a make target (e.g. gke-render), parsed as manifests. */
export function makeRender(target: string, vars: Record<string, string>): K8sObject[] {
  const args = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  return cached(
    `make ${target} ${args.join(" ")}`,
    () => parseYamlDocuments(run(["make", "--no-print-directory", "-s", target, ...args])) as K8sObject[],
  );
}

/** The settings the tests render the GKE overlay with, as `make gke-deploy` would. */
export const GKE_VARS = {
  PROJECT: "test-project",
  REGION: "europe-west1",
  REPO: "weather",
  IMAGE_TAG: "1a2b3c",
  DOMAIN: "weather.test.example",
} as const;

export type ClusterForm = "kind" | "gke" | "kind-ha" | "gke-ha";

/**
 * Everything each form applies to one cluster, as rendered now: kind's overlay plus its Locust Job,
 * the GKE overlay as `make gke-deploy` renders it, and the same two in the HA topology (kind-ha,
 * and gke-ha as `make gke-deploy TOPOLOGY=ha` renders it). Tests iterate over these objects, never
 * over a list of names, so that what an overlay adds later is checked the same way.
 */
export function clusterForms(): { form: ClusterForm; objects: K8sObject[] }[] {
  return [
    { form: "kind", objects: [...kustomizeBuild("kind"), ...kustomizeBuild("kind/load")] },
    { form: "gke", objects: makeRender("gke-render", GKE_VARS) },
    { form: "kind-ha", objects: [...kustomizeBuild("kind-ha"), ...kustomizeBuild("kind/load")] },
    { form: "gke-ha", objects: makeRender("gke-render", { ...GKE_VARS, TOPOLOGY: "ha" }) },
  ];
}

/** Kubernetes kinds whose objects live in a namespace (those the overlays use or may). */
export const CLUSTER_SCOPED_KINDS = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "GatewayClass"]);

/** Which npm package of the kubernetes-models family holds an API group's models. */
function modelModule(apiVersion: string): string {
  const [group = "", version = ""] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "") return `kubernetes-models/${version}`;
  if (group.startsWith("gateway.networking")) return `@kubernetes-models/gateway-api/${group}/${version}`;
  if (group.endsWith("keda.sh")) return `@kubernetes-models/keda/${group}/${version}`;
  if (group.endsWith(".gke.io") || group.endsWith("cloud.google.com"))
    return `@kubernetes-models/gke/${group}/${version}`;
  return `kubernetes-models/${group}/${version}`;
}

type ModelClass = new (data: unknown) => { validate(): void };

/** Validates one object against its schema; throws with the schema errors, or when no schema is known. */
export async function validateObject(object: K8sObject): Promise<void> {
  const where = `${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
  let models: Record<string, unknown>;
  try {
    models = await import(modelModule(object.apiVersion));
  } catch {
    throw new Error(`${where}: no offline schema for apiVersion ${object.apiVersion}`);
  }
  const Model = models[object.kind] as ModelClass | undefined;
  if (typeof Model !== "function") throw new Error(`${where}: no offline schema for kind ${object.kind}`);
  try {
    new Model(object).validate();
  } catch (error) {
    throw new Error(`${where}: ${(error as Error).message}`);
  }
}

export const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "Job", "DaemonSet", "ReplicaSet", "CronJob"]);

export function workloads(objects: K8sObject[]): K8sObject[] {
  return objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
}

/** A workload's pod template (a CronJob's is one level deeper). */
// biome-ignore lint/suspicious/noExplicitAny: pod templates are read structurally
export function podTemplate(workload: K8sObject): { metadata?: any; spec: any } {
  return workload.kind === "CronJob" ? workload.spec.jobTemplate.spec.template : workload.spec.template;
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name} in the rendered manifests`);
  return found;
}

/** The deployables built from this repository's Dockerfile. */
export const DEPLOYABLES = ["api", "rabbitmq-consumer", "kafka-consumer"] as const;
export type Deployable = (typeof DEPLOYABLES)[number];

/** "registry/path/api:tag" -> "api". */
export function imageBaseName(image: string): string {
  const last = image.split("/").pop() ?? image;
  return last.split("@")[0]?.split(":")[0] ?? last;
}

/**
 * The Secrets `make gke-secrets` creates outside the manifests, with values of the same form (random
 * hex passwords); test/deploy/preflight.test.ts checks that the target creates exactly these keys.
 */
export const GKE_EXTERNAL_SECRETS: Record<string, Record<string, string>> = {
  "rabbitmq-credentials": {
    username: "weather",
    password: "0123456789abcdef0123456789abcdef0123456789abcdef",
    "keda-host": "amqp://weather:0123456789abcdef0123456789abcdef0123456789abcdef@rabbitmq.weather-tweets.svc:5672/",
  },
  "grafana-admin": { username: "admin", password: "0123456789abcdef0123456789abcdef" },
  "rabbitmq-erlang-cookie": { cookie: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" },
};
