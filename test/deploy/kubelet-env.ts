/**
 * The environment the kubelet gives a container, built from rendered manifests the way the kubelet
 * does it (pkg/kubelet/kubelet_pods.go makeEnvironmentVariables, pkg/kubelet/envvars):
 *  1. service-link variables of every Service of the pod's namespace that has a cluster IP, when
 *     `enableServiceLinks` is not false, and always those of the `kubernetes` Service of `default`;
 *  2. `envFrom` (ConfigMaps, Secrets, with their prefix);
 *  3. `env` in order, `$(NAME)` expanded from the variables before it and the service variables;
 *  4. service variables not already set by 2 or 3.
 * Only what the manifests can say is modelled; anything else (an unknown field reference) throws,
 * so a new manifest feature fails the test instead of being ignored.
 */
import type { K8sObject } from "./manifests.ts";

export type Env = Record<string, string>;

/** Values the API server or the cluster would supply, which rendered manifests cannot contain. */
export interface ClusterFacts {
  /** Cluster IP per Service name of the pod's namespace (headless Services have none). */
  clusterIP(serviceName: string): string;
  /** Secrets created outside the manifests (e.g. by `make gke-secrets`): name -> key -> value. */
  externalSecrets: Record<string, Record<string, string>>;
}

/** The master Service every pod gets variables for, even with service links off. */
const KUBERNETES_SERVICE = {
  metadata: { name: "kubernetes", namespace: "default" },
  spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP" }] },
};

const variableName = (name: string) => name.toUpperCase().replaceAll("-", "_");

/** The docker-link style variables of one Service with a cluster IP (envvars.FromServices). */
export function serviceLinkVariables(
  service: { metadata: { name: string }; spec: { ports: { name?: string; port: number; protocol?: string }[] } },
  clusterIP: string,
): Env {
  const env: Env = {};
  const prefix = variableName(service.metadata.name);
  const ports = service.spec.ports;
  const first = ports[0];
  if (!first) return env;
  env[`${prefix}_SERVICE_HOST`] = clusterIP;
  env[`${prefix}_SERVICE_PORT`] = String(first.port);
  for (const port of ports) {
    if (port.name) env[`${prefix}_SERVICE_PORT_${variableName(port.name)}`] = String(port.port);
  }
  ports.forEach((port, index) => {
    const protocol = port.protocol ?? "TCP";
    const url = `${protocol.toLowerCase()}://${clusterIP}:${port.port}`;
    if (index === 0) env[`${prefix}_PORT`] = url;
    const portPrefix = `${prefix}_PORT_${port.port}_${protocol.toUpperCase()}`;
    env[portPrefix] = url;
    env[`${portPrefix}_PROTO`] = protocol.toLowerCase();
    env[`${portPrefix}_PORT`] = String(port.port);
    env[`${portPrefix}_ADDR`] = clusterIP;
  });
  return env;
}

/** `$(NAME)` -> value when NAME is defined, left as written otherwise; `$$` -> `$` (third_party/forked/golang/expansion). */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const char = input[i];
    if (char !== "$" || i + 1 >= input.length) {
      out += char;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close === -1) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, close);
      const value = lookup(name);
      out += value ?? `$(${name})`;
      i = close;
    } else {
      out += char;
    }
  }
  return out;
}

const decode = (value: string) => Buffer.from(value, "base64").toString("utf8");

interface PodContext {
  workload: K8sObject;
  // biome-ignore lint/suspicious/noExplicitAny: pod specs are read structurally
  podSpec: any;
  namespace: string;
  podName: string;
}

function secretData(objects: K8sObject[], facts: ClusterFacts, namespace: string, name: string) {
  const secret = objects.find(
    (o) => o.kind === "Secret" && o.metadata.name === name && o.metadata.namespace === namespace,
  );
  if (secret) {
    const data: Env = {};
    for (const [k, v] of Object.entries<string>(secret.data ?? {})) data[k] = decode(v);
    Object.assign(data, secret.stringData ?? {});
    return data;
  }
  return facts.externalSecrets[name];
}

function configMapData(objects: K8sObject[], namespace: string, name: string): Env | undefined {
  const configMap = objects.find(
    (o) => o.kind === "ConfigMap" && o.metadata.name === name && o.metadata.namespace === namespace,
  );
  return configMap ? { ...(configMap.data ?? {}) } : undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: env var sources are read structurally
function fieldValue(ref: any, pod: PodContext, labels: Env, annotations: Env): string {
  const path: string = ref.fieldPath;
  const keyed = path.match(/^metadata\.(labels|annotations)\['(.+)'\]$/);
  if (keyed) return (keyed[1] === "labels" ? labels : annotations)[keyed[2] as string] ?? "";
  const values: Env = {
    "metadata.name": pod.podName,
    "metadata.namespace": pod.namespace,
    "metadata.uid": "00000000-0000-4000-8000-000000000000",
    "spec.nodeName": "node-1",
    "spec.serviceAccountName": pod.podSpec.serviceAccountName ?? "default",
    "status.hostIP": "10.128.0.2",
    "status.hostIPs": "10.128.0.2",
    "status.podIP": "10.4.0.10",
    "status.podIPs": "10.4.0.10",
  };
  const value = values[path];
  if (value === undefined) throw new Error(`fieldRef ${path} is not modelled`);
  return value;
}

/** The environment of one container of a workload's pod. */
export function containerEnvironment(
  objects: K8sObject[],
  workload: K8sObject,
  // biome-ignore lint/suspicious/noExplicitAny: container specs are read structurally
  container: any,
  facts: ClusterFacts,
): Env {
  const template = workload.kind === "CronJob" ? workload.spec.jobTemplate.spec.template : workload.spec.template;
  const namespace = workload.metadata.namespace ?? "default";
  const pod: PodContext = {
    workload,
    podSpec: template.spec,
    namespace,
    podName: workload.kind === "StatefulSet" ? `${workload.metadata.name}-0` : `${workload.metadata.name}-7c9d8-x2x4q`,
  };
  const labels: Env = template.metadata?.labels ?? {};
  const annotations: Env = template.metadata?.annotations ?? {};

  // 1. Service links.
  const serviceEnv: Env = serviceLinkVariables(KUBERNETES_SERVICE, KUBERNETES_SERVICE.spec.clusterIP);
  if (template.spec.enableServiceLinks !== false) {
    for (const service of objects.filter((o) => o.kind === "Service" && o.metadata.namespace === namespace)) {
      if (service.spec.type === "ExternalName") continue;
      const ip = service.spec.clusterIP === "None" ? "None" : facts.clusterIP(service.metadata.name);
      if (ip === "None" || ip === "") continue;
      Object.assign(serviceEnv, serviceLinkVariables({ metadata: service.metadata, spec: service.spec }, ip));
    }
  }

  const env: Env = {};
  // 2. envFrom.
  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const data = source.configMapRef
      ? configMapData(objects, namespace, ref.name)
      : secretData(objects, facts, namespace, ref.name);
    if (!data) {
      if (ref.optional) continue;
      throw new Error(`envFrom ${source.configMapRef ? "ConfigMap" : "Secret"} ${ref.name} does not exist`);
    }
    for (const [key, value] of Object.entries(data)) env[`${source.prefix ?? ""}${key}`] = value;
  }

  // 3. env, in order.
  const lookup = (name: string) => env[name] ?? serviceEnv[name];
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined && variable.value !== "") {
      env[variable.name] = expand(variable.value, lookup);
      continue;
    }
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = "";
    } else if (from.fieldRef) {
      env[variable.name] = fieldValue(from.fieldRef, pod, labels, annotations);
    } else if (from.secretKeyRef || from.configMapKeyRef) {
      const ref = from.secretKeyRef ?? from.configMapKeyRef;
      const data = from.secretKeyRef
        ? secretData(objects, facts, namespace, ref.name)
        : configMapData(objects, namespace, ref.name);
      const value = data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new Error(
          `${variable.name}: key ${ref.key} of ${from.secretKeyRef ? "Secret" : "ConfigMap"} ${ref.name} does not exist`,
        );
      }
      env[variable.name] = value;
    } else {
      throw new Error(`${variable.name}: valueFrom ${Object.keys(from).join(",")} is not modelled`);
    }
  }

  // 4. Service variables the container did not set itself.
  for (const [key, value] of Object.entries(serviceEnv)) if (!(key in env)) env[key] = value;
  return env;
}

/** Deterministic stand-ins for the cluster IPs the API server would assign. */
export function fakeClusterIPs(objects: K8sObject[]): (serviceName: string) => string {
  const names = [...new Set(objects.filter((o) => o.kind === "Service").map((o) => o.metadata.name))].sort();
  return (name) => `10.96.0.${10 + names.indexOf(name)}`;
}
