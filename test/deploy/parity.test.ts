/**
 * One system, three forms: compose, kind and GKE run the same deployables with the same images,
 * container ports and environment variable names and values, and each service's environment
 * satisfies its own config schema (imported from the service, never copied here).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DockerfileParser } from "dockerfile-ast";
import { parse } from "yaml";
import { ApiConfig } from "../../api/src/config.ts";
import { ConsumerConfig } from "../../consumers/src/config.ts";
// The shared loader, by path: the repository root is not a workspace that depends on it.
import { loadConfig } from "../../packages/config/src/index.ts";
import {
  DEPLOYABLES,
  type Deployable,
  find,
  imageBaseName,
  type K8sObject,
  kustomizeBuild,
  ROOT,
} from "./manifests.ts";

const SCHEMAS: Record<Deployable, typeof ApiConfig | typeof ConsumerConfig> = {
  api: ApiConfig,
  "rabbitmq-consumer": ConsumerConfig,
  "kafka-consumer": ConsumerConfig,
};
/** The variable holding each deployable's HTTP port. */
const PORT_VARIABLE: Record<Deployable, string> = {
  api: "API_PORT",
  "rabbitmq-consumer": "HTTP_PORT",
  "kafka-consumer": "HTTP_PORT",
};
/**
 * Variables whose default points at the native stack on loopback but which a deployable does not
 * use, so leaving them unset in containers is right. Any other loopback default must be set.
 */
const UNUSED_LOOPBACK_DEFAULTS: Record<Deployable, string[]> = {
  api: [],
  // STORE_URL replaces VALKEY_URL / REDIS_URL; each consumer talks to one broker only.
  "rabbitmq-consumer": ["VALKEY_URL", "REDIS_URL", "KAFKA_BROKERS"],
  "kafka-consumer": ["VALKEY_URL", "REDIS_URL", "RABBITMQ_URL"],
};

/**
 * Set in Kubernetes only, on purpose: behind a load balancer the API keeps serving this long after
 * SIGTERM while the balancer stops routing to it (test/deploy/shutdown.test.ts); compose publishes
 * the port directly, with nothing to wait for. kind and GKE still agree on them (same base).
 */
const KUBERNETES_ONLY: Record<Deployable, string[]> = {
  api: ["SHUTDOWN_DELAY_MS"],
  "rabbitmq-consumer": [],
  "kafka-consumer": [],
};

/** Variables a deployable's image sets itself (ENV of its Dockerfile stage and the stages it builds on). */
function imageEnv(target: string): Record<string, string> {
  const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, "Dockerfile"), "utf8"));
  const froms = dockerfile.getFROMs();
  const env: Record<string, string> = {};
  for (let name: string | null = target; name !== null; ) {
    const index = froms.findIndex((from) => from.getBuildStage() === name);
    const from = froms[index];
    if (from === undefined) break;
    const start = from.getRange().start.line;
    const end = froms[index + 1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
    for (const instruction of dockerfile.getENVs()) {
      const line = instruction.getRange().start.line;
      if (line <= start || line >= end) continue;
      // A later stage overrides what it builds on: keep the first value seen.
      for (const property of instruction.getProperties()) env[property.getName()] ??= property.getValue() ?? "";
    }
    name = from.getImageName();
  }
  return env;
}

interface Form {
  image: string;
  ports: number[];
  env: Record<string, string>;
  replicas: number;
}
type Forms = Record<"compose" | "kind" | "gke", Record<Deployable, Form>>;
let forms: Forms;

/** URL credentials differ by design (compose defaults, Kubernetes Secrets): compare without them (each URL of a list). */
const withoutCredentials = (value: string) => value.replace(/(^|,)(\w+:\/\/)[^@/,]+@/g, "$1$2<credentials>@");
/** Node names differ by design (compose rabbitmq-1, Kubernetes rabbitmq-0.rabbitmq): the HA forms compare lists without them. */
const withoutHosts = (value: string) =>
  value.replace(/(^|,)((\w+:\/\/)?(<credentials>@)?)[a-z0-9.-]+:(\d+)/g, "$1$2<node>:$5");
/** Resolves compose's ${VAR:-default} with its default, as `docker compose` does without a .env. */
const composeDefaults = (value: string) => value.replace(/\$\{\w+:-([^}]*)\}/g, "$1");

/** The compose services of a deployable: `api` etc., or with suffix "-ha" the `ha` profile's, which extend them. */
function composeForms(suffix = ""): Record<Deployable, Form> {
  // biome-ignore lint/suspicious/noExplicitAny: the compose model is read structurally
  const compose: any = parse(readFileSync(join(ROOT, "compose.yaml"), "utf8"), { merge: true });
  const result = {} as Record<Deployable, Form>;
  for (const name of DEPLOYABLES) {
    const own = compose.services[`${name}${suffix}`];
    // `extends`: the base service's settings, the extending one's environment on top.
    const base = own.extends ? compose.services[own.extends] : {};
    const service = { ...base, ...own, environment: { ...base.environment, ...own.environment } };
    const env = Object.fromEntries(
      Object.entries<string>(service.environment).map(([k, v]) => [k, withoutCredentials(composeDefaults(String(v)))]),
    );
    // A service's container port: the one it is told to listen on, and the one it publishes.
    const published = (service.ports ?? []).map((p: string) => Number(p.split(":").pop()));
    const ports = [...new Set([Number(env[PORT_VARIABLE[name]]), ...published])];
    result[name] = {
      image: imageBaseName(composeDefaults(service.image)),
      ports,
      env,
      replicas: service.deploy?.replicas ?? 1,
    };
  }
  return result;
}

function kubernetesForms(objects: K8sObject[], replicasOf: (name: Deployable) => number): Record<Deployable, Form> {
  const result = {} as Record<Deployable, Form>;
  for (const name of DEPLOYABLES) {
    const container = find(objects, "Deployment", name).spec.template.spec.containers[0];
    const entries: { name: string; value?: string; valueFrom?: unknown }[] = container.env;
    // Variables filled from a Secret only to be expanded into another one, as $(NAME), are plumbing.
    const expanded = new Set(entries.flatMap((e) => [...(e.value ?? "").matchAll(/\$\((\w+)\)/g)].map((m) => m[1])));
    const env = Object.fromEntries(
      entries
        .filter((e) => !(e.valueFrom && expanded.has(e.name)) && !KUBERNETES_ONLY[name].includes(e.name))
        .map((e) => [e.name, withoutCredentials(e.value ?? "")]),
    );
    result[name] = {
      image: imageBaseName(container.image),
      ports: container.ports.map((p: { containerPort: number }) => p.containerPort),
      env,
      replicas: replicasOf(name),
    };
  }
  return result;
}

/**
 * Compose (its profile `suffix`), kind and GKE (the overlays `kind${suffix}` and `gke${suffix}`),
 * each deployable as it runs there.
 */
function renderForms(suffix: "" | "-ha"): Forms {
  const kind = kustomizeBuild(`kind${suffix}`);
  const gke = kustomizeBuild(`gke${suffix}`);
  return {
    compose: composeForms(suffix),
    kind: kubernetesForms(kind, (name) => find(kind, "Deployment", name).spec.replicas ?? 1),
    // In GKE the autoscalers own the replica counts: their minimum is the steady state.
    gke: kubernetesForms(gke, (name) =>
      name === "api"
        ? find(gke, "HorizontalPodAutoscaler", name).spec.minReplicas
        : find(gke, "ScaledObject", name).spec.minReplicaCount,
    ),
  };
}

/** kustomize runs once per overlay: seconds, more on a busy machine. */
const RENDER_TIMEOUT_MS = 60_000;
beforeAll(() => {
  forms = renderForms("");
}, RENDER_TIMEOUT_MS);

describe.each([...DEPLOYABLES])("%s", (name) => {
  const each = (pick: (form: Form) => unknown) =>
    Object.fromEntries(Object.entries(forms).map(([formName, f]) => [formName, pick(f[name])]));
  const same = (pick: (form: Form) => unknown) => {
    const values = each(pick);
    expect(values).toEqual({ compose: values.compose, kind: values.compose, gke: values.compose });
  };

  test("same image (named after the deployable) in compose, kind and GKE", () => {
    same((f) => f.image);
    expect(forms.compose[name].image).toBe(name);
  });

  test("same container port, the one its port variable names", () => {
    same((f) => f.ports);
    for (const form of Object.values(forms))
      expect(form[name].ports).toEqual([Number(form[name].env[PORT_VARIABLE[name]])]);
  });

  test("same environment variable names and values (credentials aside)", () => {
    same((f) => Object.keys(f.env).sort());
    same((f) => f.env);
  });

  test("same replica count at rest (2 RabbitMQ consumers, as the original)", () => {
    same((f) => f.replicas);
    expect(forms.compose[name].replicas).toBe(name === "rabbitmq-consumer" ? 2 : 1);
  });

  test("sets only variables its config schema declares, and every one it requires", () => {
    const schema = SCHEMAS[name];
    const properties: Record<string, { default?: unknown }> = schema.properties;
    const declared = Object.keys(properties);
    const requiredWithoutDefault = (schema.required ?? []).filter((key) => properties[key]?.default === undefined);
    for (const form of Object.values(forms)) {
      const set = Object.keys(form[name].env);
      expect(set.filter((key) => !declared.includes(key))).toEqual([]);
      expect(requiredWithoutDefault.filter((key) => !set.includes(key))).toEqual([]);
    }
  });

  test("overrides every loopback default the deployable uses (containers have no native stack)", () => {
    const schema = SCHEMAS[name];
    const loopback = Object.entries(schema.properties)
      .filter(([, property]) => /127\.0\.0\.1|localhost/.test(String(property.default ?? "")))
      .map(([key]) => key);
    expect(loopback.length).toBeGreaterThan(0);
    for (const unused of UNUSED_LOOPBACK_DEFAULTS[name]) expect(loopback).toContain(unused);
    // The image may set one itself, e.g. API_HOST=0.0.0.0: the native default is loopback.
    const fromImage = imageEnv(name);
    const setByImage = Object.keys(fromImage).filter((key) => !/127\.0\.0\.1|localhost/.test(fromImage[key] ?? ""));
    const needed = loopback.filter((key) => !UNUSED_LOOPBACK_DEFAULTS[name].includes(key) && !setByImage.includes(key));
    for (const form of Object.values(forms)) {
      expect(needed.filter((key) => !(key in form[name].env))).toEqual([]);
    }
  });

  test("the environment passes the service's own config loader", () => {
    for (const form of Object.values(forms)) {
      // Credentials come from Secrets at run time; any well-formed pair stands in for them.
      const env = Object.fromEntries(
        Object.entries(form[name].env).map(([k, v]) => [k, v.replace("<credentials>", "user:password")]),
      );
      expect(() => loadConfig(SCHEMAS[name], env)).not.toThrow();
    }
  });
});

test("each consumer runs its own pipeline against its own store", () => {
  const expected = {
    "rabbitmq-consumer": { CONSUMER_SOURCE: "rabbitmq", STORE_URL: "redis://valkey:6379" },
    "kafka-consumer": { CONSUMER_SOURCE: "kafka", STORE_URL: "redis://redis:6379" },
  } as const;
  for (const [name, values] of Object.entries(expected)) {
    for (const form of Object.values(forms)) {
      const env = form[name as Deployable].env;
      expect({ CONSUMER_SOURCE: env.CONSUMER_SOURCE, STORE_URL: env.STORE_URL }).toEqual(values);
    }
  }
});

describe("HA topology: compose (profile ha), kind-ha and gke-ha run the same services alike", () => {
  let ha: Forms;
  beforeAll(() => {
    ha = renderForms("-ha");
  }, RENDER_TIMEOUT_MS);

  test.each([...DEPLOYABLES])(
    "%s: same image, port, variables and values (node names aside), every node listed",
    (name) => {
      const pick = (f: Form) => ({
        image: f.image,
        ports: f.ports,
        env: Object.fromEntries(Object.entries(f.env).map(([k, v]) => [k, withoutHosts(v)])),
      });
      const compose = pick(ha.compose[name]);
      expect({ kind: pick(ha.kind[name]), gke: pick(ha.gke[name]) }).toEqual({ kind: compose, gke: compose });
      // The single form's variables, with the lists of three nodes and the replica settings added.
      const single = forms.compose[name].env;
      for (const key of Object.keys(single)) expect(Object.keys(compose.env)).toContain(key);
      for (const key of ["RABBITMQ_URL", "KAFKA_BROKERS"]) {
        if (compose.env[key] !== undefined) expect(compose.env[key]?.split(",")).toHaveLength(3);
      }
      const settings = [compose.env.RABBITMQ_QUORUM_GROUP_SIZE, compose.env.KAFKA_REPLICATION_FACTOR].filter(Boolean);
      expect(settings.length).toBeGreaterThan(0);
      for (const value of settings) expect(value).toBe("3");
    },
  );
});
