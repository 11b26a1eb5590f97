/**
 * Each pod's environment as the kubelet would build it (its env, envFrom, and the service-link
 * variables of every Service of the namespace unless links are off), given to the service's REAL
 * config loader, imported from the service. With links on, every Service `x-y` adds X_Y_PORT=tcp://...
 * and our consumers read RABBITMQ_CONSUMER_PORT / KAFKA_CONSUMER_PORT as integers: they would exit 2.
 */
import { describe, expect, test } from "bun:test";
import { loadApiConfig } from "../../api/src/config.ts";
import { loadConsumerConfig } from "../../consumers/src/config.ts";
import { containerEnvironment, expand, fakeClusterIPs, serviceLinkVariables } from "./kubelet-env.ts";
import {
  clusterForms,
  DEPLOYABLES,
  GKE_EXTERNAL_SECRETS,
  imageBaseName,
  type K8sObject,
  podTemplate,
  workloads,
} from "./manifests.ts";

/** The config loader each of our images runs at start-up, by image name. */
const LOADERS: Record<string, (env: Record<string, string>) => unknown> = {
  api: loadApiConfig,
  "rabbitmq-consumer": loadConsumerConfig,
  "kafka-consumer": loadConsumerConfig,
};

const facts = (objects: K8sObject[]) => ({ clusterIP: fakeClusterIPs(objects), externalSecrets: GKE_EXTERNAL_SECRETS });

describe("the kubelet's environment, modelled", () => {
  test("service-link variables of a Service with a cluster IP (the format of the Kubernetes docs)", () => {
    const service = {
      metadata: { name: "redis-primary" },
      spec: {
        ports: [
          { name: "redis", port: 6379 },
          { name: "metrics", port: 9121, protocol: "TCP" },
        ],
      },
    };
    expect(serviceLinkVariables(service, "10.0.0.11")).toEqual({
      REDIS_PRIMARY_SERVICE_HOST: "10.0.0.11",
      REDIS_PRIMARY_SERVICE_PORT: "6379",
      REDIS_PRIMARY_SERVICE_PORT_REDIS: "6379",
      REDIS_PRIMARY_SERVICE_PORT_METRICS: "9121",
      REDIS_PRIMARY_PORT: "tcp://10.0.0.11:6379",
      REDIS_PRIMARY_PORT_6379_TCP: "tcp://10.0.0.11:6379",
      REDIS_PRIMARY_PORT_6379_TCP_PROTO: "tcp",
      REDIS_PRIMARY_PORT_6379_TCP_PORT: "6379",
      REDIS_PRIMARY_PORT_6379_TCP_ADDR: "10.0.0.11",
      REDIS_PRIMARY_PORT_9121_TCP: "tcp://10.0.0.11:9121",
      REDIS_PRIMARY_PORT_9121_TCP_PROTO: "tcp",
      REDIS_PRIMARY_PORT_9121_TCP_PORT: "9121",
      REDIS_PRIMARY_PORT_9121_TCP_ADDR: "10.0.0.11",
    });
  });

  test("$(VAR) expansion: defined names replaced, unknown ones kept, $$ escapes", () => {
    const known: Record<string, string> = { USER: "u", PASS: "p" };
    const lookup = (name: string) => known[name];
    expect(expand("amqp://$(USER):$(PASS)@rabbitmq:5672", lookup)).toBe("amqp://u:p@rabbitmq:5672");
    expect(expand("$(MISSING)-$$(USER)-$USER-$", lookup)).toBe("$(MISSING)-$(USER)-$USER-$");
  });

  const objects: K8sObject[] = [
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kafka-consumer", namespace: "ns" },
      spec: { ports: [{ name: "http", port: 3100 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kafka", namespace: "ns" },
      spec: { clusterIP: "None", ports: [{ port: 9092 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "elsewhere", namespace: "other" },
      spec: { ports: [{ port: 80 }] },
    },
    { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "ns" }, data: { pw: btoa("secret") } },
    { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "ns" }, data: { A: "1", B: "2" } },
  ];
  const pod = (enableServiceLinks: boolean | undefined, container: unknown): K8sObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "w", namespace: "ns" },
    spec: { template: { metadata: { labels: {} }, spec: { enableServiceLinks, containers: [container] } } },
  });

  test("links on by default: the namespace's Services with a cluster IP; the container's own value wins", () => {
    const container = { name: "c", env: [{ name: "KAFKA_CONSUMER_PORT", value: "3201" }] };
    const env = containerEnvironment(objects, pod(undefined, container), container, facts(objects));
    expect(env.KAFKA_CONSUMER_PORT).toBe("3201");
    expect(env.KAFKA_CONSUMER_PORT_3100_TCP).toMatch(/^tcp:\/\/10\.96\.0\.\d+:3100$/);
    expect(env.KAFKA_CONSUMER_SERVICE_HOST).toBeDefined();
    expect(Object.keys(env).filter((k) => k.startsWith("KAFKA_SERVICE") || k.startsWith("ELSEWHERE"))).toEqual([]);
    expect(env.KUBERNETES_SERVICE_HOST).toBe("10.96.0.1");
  });

  test("links off: only the kubernetes Service's variables; envFrom with prefix, secretKeyRef, $(VAR)", () => {
    const container = {
      name: "c",
      envFrom: [{ configMapRef: { name: "c" }, prefix: "CM_" }],
      env: [
        { name: "PW", valueFrom: { secretKeyRef: { name: "s", key: "pw" } } },
        { name: "URL", value: "x://$(PW)@$(CM_A)/$(KUBERNETES_SERVICE_HOST)" },
        { name: "POD", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
      ],
    };
    const env = containerEnvironment(objects, pod(false, container), container, facts(objects));
    expect(Object.keys(env).filter((k) => k.startsWith("KAFKA_"))).toEqual([]);
    expect(env.URL).toBe("x://secret@1/10.96.0.1");
    expect([env.CM_A, env.CM_B, env.POD]).toEqual(["1", "2", "w-7c9d8-x2x4q"]);
  });

  test("a reference to a missing Secret key fails, as the kubelet refuses to start the container", () => {
    const container = { name: "c", env: [{ name: "X", valueFrom: { secretKeyRef: { name: "s", key: "nope" } } }] };
    expect(() => containerEnvironment(objects, pod(false, container), container, facts(objects))).toThrow(
      "key nope of Secret s",
    );
  });

  test("a real loader fails on a service-link variable it declares (the crash loop this guards against)", () => {
    // The API's own Service `api` yields API_PORT=tcp://...; a pod that did not set API_PORT would exit 2.
    expect(() => loadApiConfig({ API_PORT: "tcp://10.96.0.12:3000" })).toThrow("API_PORT");
    // The consumers no longer declare the other services' ports, so links cannot reach them.
    expect(
      loadConsumerConfig({ CONSUMER_SOURCE: "kafka", KAFKA_CONSUMER_PORT: "tcp://10.96.0.12:3100" }).HTTP_PORT,
    ).toBe(3100);
  });
});

describe.each(clusterForms())("$form", ({ objects }) => {
  test("every container's environment resolves, and each of our images loads its config from it", () => {
    const failures: string[] = [];
    const loaded = new Set<string>();
    for (const workload of workloads(objects)) {
      for (const container of podTemplate(workload).spec.containers) {
        const image = imageBaseName(container.image);
        const load = LOADERS[image];
        const where = `${workload.kind}/${workload.metadata.name}/${container.name}`;
        try {
          const env = containerEnvironment(objects, workload, container, facts(objects));
          if (!load) continue;
          load(env);
          loaded.add(image);
        } catch (error) {
          failures.push(`${where}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect([...loaded].sort()).toEqual([...DEPLOYABLES].sort());
  });

  test("init containers' environments resolve too (Secrets, ConfigMaps, field references)", () => {
    const failures: string[] = [];
    for (const workload of workloads(objects)) {
      for (const container of podTemplate(workload).spec.initContainers ?? []) {
        try {
          containerEnvironment(objects, workload, container, facts(objects));
        } catch (error) {
          failures.push(`${workload.metadata.name}/${container.name}: ${(error as Error).message}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
