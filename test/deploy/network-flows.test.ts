/**
 * Network flows over the rendered NetworkPolicies (netpol.ts evaluates them). The flows the system
 * needs are derived from the rendered objects, not listed by name: each service's dependencies from
 * its config (its real loader, on the kubelet's environment), Prometheus' targets from the scrape
 * annotations, Grafana's from its provisioned data sources, the load balancer's from the HTTPRoutes
 * and health checks, KEDA's from the ScaledObjects, DNS for every pod and every DNS provider GKE
 * has. Then everything else between the pods, and from the internet, must be denied.
 */
import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import { loadApiConfig } from "../../api/src/config.ts";
import { loadConsumerConfig } from "../../consumers/src/config.ts";
import { rabbitmqUrls } from "../../packages/brokers/src/index.ts";
import { containerEnvironment, fakeClusterIPs } from "./kubelet-env.ts";
import {
  clusterForms,
  GKE_EXTERNAL_SECRETS,
  imageBaseName,
  type K8sObject,
  podTemplate,
  workloads,
} from "./manifests.ts";
import { describeFlow, type Endpoint, evaluate, type Flow, type PodEndpoint, type Protocol } from "./netpol.ts";

/** Google's front ends and health checkers, the sources of load-balanced traffic (first and last addresses). */
const LOAD_BALANCER = ["35.191.0.1", "35.191.255.254", "130.211.0.1", "130.211.3.254"];
/** Where pods send DNS queries: kube-dns pods, NodeLocal DNSCache, Cloud DNS (the metadata server). */
const KUBE_DNS: PodEndpoint = {
  kind: "pod",
  name: "kube-system/kube-dns",
  namespace: "kube-system",
  namespaceLabels: { "kubernetes.io/metadata.name": "kube-system" },
  labels: { "k8s-app": "kube-dns" },
};
const NODE_LOCAL_DNS = "169.254.20.10";
const METADATA_SERVER = "169.254.169.254";
/** KEDA's operator reads queue length and consumer lag. */
const KEDA_OPERATOR: PodEndpoint = {
  kind: "pod",
  name: "keda/keda-operator",
  namespace: "keda",
  namespaceLabels: { "kubernetes.io/metadata.name": "keda" },
  labels: { app: "keda-operator", "app.kubernetes.io/name": "keda-operator" },
};
/** Stand-in for an address on the internet. */
const INTERNET = "203.0.113.10";
/** The API server's address depends on the cluster (a public endpoint by default): any address, on 443. */
const API_SERVER = INTERNET;
const DEFAULT_PORTS: Record<string, number> = {
  "amqp:": 5672,
  "amqps:": 5671,
  "redis:": 6379,
  "rediss:": 6379,
  "http:": 80,
  "https:": 443,
};

interface NeededFlow extends Flow {
  why: string;
}

function address(name: string, ip: string): Endpoint {
  return { kind: "ip", name, ip };
}

/** The cluster as the evaluator sees it: one pod per workload (or per replica of a StatefulSet). */
function model(objects: K8sObject[]) {
  const namespaceLabels = (namespace: string) => ({
    ...(objects.find((o) => o.kind === "Namespace" && o.metadata.name === namespace)?.metadata.labels ?? {}),
    "kubernetes.io/metadata.name": namespace,
  });
  const pods = new Map<K8sObject, PodEndpoint[]>();
  let nextIp = 10;
  for (const w of workloads(objects)) {
    const template = podTemplate(w);
    const namespace = w.metadata.namespace as string;
    const namedPorts: PodEndpoint["namedPorts"] = {};
    for (const c of template.spec.containers)
      for (const p of c.ports ?? [])
        if (p.name) namedPorts[p.name] = { port: p.containerPort, protocol: p.protocol ?? "TCP" };
    const replicas = w.kind === "StatefulSet" ? (w.spec.replicas ?? 1) : 1;
    pods.set(
      w,
      Array.from({ length: replicas }, (_, i) => ({
        kind: "pod" as const,
        name: w.kind === "StatefulSet" ? `${w.metadata.name}-${i}` : w.metadata.name,
        namespace,
        namespaceLabels: namespaceLabels(namespace),
        labels: template.metadata?.labels ?? {},
        namedPorts,
        ip: `10.4.0.${nextIp++}`,
      })),
    );
  }
  const containerPorts = (w: K8sObject): { port: number; protocol: Protocol }[] =>
    podTemplate(w).spec.containers.flatMap((c: { ports?: { containerPort: number; protocol?: Protocol }[] }) =>
      (c.ports ?? []).map((p) => ({ port: p.containerPort, protocol: p.protocol ?? "TCP" })),
    );
  /** The pods and container port behind `host:port`: a Service, or one pod of a StatefulSet (`pod-0.service...`). */
  const backends = (host: string, port: number, namespace: string): { pod: PodEndpoint; port: number }[] => {
    const [first = "", second = ""] = host.split(".");
    const serviceNamed = (name: string) =>
      objects.find((o) => o.kind === "Service" && o.metadata.name === name && o.metadata.namespace === namespace);
    const service = serviceNamed(first) ?? serviceNamed(second);
    if (!service) throw new Error(`no Service for ${host}`);
    const onePod = service.metadata.name === first ? undefined : first;
    const servicePort = service.spec.ports.find((p: { port: number }) => p.port === port);
    if (!servicePort) throw new Error(`Service ${service.metadata.name} has no port ${port}`);
    const target = servicePort.targetPort ?? servicePort.port;
    const selected = [...pods.entries()]
      .filter(([w]) =>
        Object.entries<string>(service.spec.selector ?? {}).every(
          ([k, v]) => podTemplate(w).metadata?.labels?.[k] === v,
        ),
      )
      .flatMap(([, endpoints]) => endpoints)
      .filter((pod) => onePod === undefined || pod.name === onePod);
    if (selected.length === 0) throw new Error(`${host}:${port} reaches no pod`);
    return selected.map((pod) => ({
      pod,
      port: typeof target === "string" ? (pod.namedPorts?.[target]?.port as number) : target,
    }));
  };
  return { pods, containerPorts, backends };
}

function neededFlows(objects: K8sObject[], m: ReturnType<typeof model>): NeededFlow[] {
  const flows: NeededFlow[] = [];
  // A needed flow must be allowed by what the policies name, not by an ipBlock a pod's address falls in.
  const withoutIp = (e: Endpoint): Endpoint => (e.kind === "pod" ? { ...e, ip: undefined } : e);
  const need = (from: Endpoint, to: Endpoint, port: number, why: string, protocol: Protocol = "TCP") =>
    flows.push({ from: withoutIp(from), to: withoutIp(to), port, protocol, why });
  const toUrl = (from: PodEndpoint, url: string, why: string) => {
    const parsed = new URL(url);
    const port = Number(parsed.port) || (DEFAULT_PORTS[parsed.protocol] as number);
    for (const b of m.backends(parsed.hostname, port, from.namespace)) need(from, b.pod, b.port, why);
  };
  const facts = { clusterIP: fakeClusterIPs(objects), externalSecrets: GKE_EXTERNAL_SECRETS };

  for (const [w, pods] of m.pods) {
    const template = podTemplate(w);
    for (const pod of pods) {
      // DNS, whichever provider the cluster has.
      for (const protocol of ["UDP", "TCP"] as const) {
        need(pod, KUBE_DNS, 53, "DNS (kube-dns)", protocol);
        need(pod, address("NodeLocal DNSCache", NODE_LOCAL_DNS), 53, "DNS (NodeLocal DNSCache)", protocol);
        need(pod, address("Cloud DNS (metadata server)", METADATA_SERVER), 53, "DNS (Cloud DNS)", protocol);
      }
      // Our services: the brokers and stores their own config names.
      for (const container of template.spec.containers) {
        const image = imageBaseName(container.image);
        const env = () => containerEnvironment(objects, w, container, facts);
        if (image === "api") {
          const config = loadApiConfig(env());
          for (const url of rabbitmqUrls(config.RABBITMQ_URL)) toUrl(pod, url, "API publishes to RabbitMQ");
          for (const broker of config.KAFKA_BROKERS.split(","))
            toUrl(pod, `kafka://${broker}`, "API publishes to Kafka");
        } else if (image === "rabbitmq-consumer" || image === "kafka-consumer") {
          const config = loadConsumerConfig(env());
          toUrl(pod, config.STORE_URL, `${image} writes its store`);
          if (config.pipeline === "rabbitmq-valkey")
            for (const url of rabbitmqUrls(config.RABBITMQ_URL)) toUrl(pod, url, `${image} reads RabbitMQ`);
          else
            for (const broker of config.KAFKA_BROKERS.split(","))
              toUrl(pod, `kafka://${broker}`, `${image} reads Kafka`);
        } else if (image === "prometheus") {
          for (const [target, targetPods] of m.pods) {
            const annotations = podTemplate(target).metadata?.annotations ?? {};
            if (annotations["prometheus.io/scrape"] !== "true") continue;
            for (const t of targetPods)
              need(pod, t, Number(annotations["prometheus.io/port"]), `Prometheus scrapes ${t.name}`);
          }
        } else if (image === "grafana") {
          const mount = container.volumeMounts.find((v: { mountPath: string }) => v.mountPath.endsWith("/datasources"));
          const volume = template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
          const configMap = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === volume.configMap.name);
          for (const text of Object.values<string>(configMap?.data ?? {}))
            for (const source of parse(text).datasources) toUrl(pod, source.url, `Grafana reads ${source.name}`);
          if (container.env?.some((e: { name: string }) => e.name === "GF_PLUGINS_PREINSTALL"))
            need(pod, address("the internet (grafana.com)", INTERNET), 443, "Grafana installs its plugin");
        }
      }
      // Pods that watch the Kubernetes API (a service account of their own) reach the API server.
      if (template.spec.serviceAccountName && template.spec.automountServiceAccountToken !== false)
        need(pod, address("the API server", API_SERVER), 443, `${pod.name} watches the Kubernetes API`);
      // Replicas of a StatefulSet talk to each other (clustered brokers).
      for (const peer of pods)
        if (peer !== pod) for (const p of m.containerPorts(w)) need(pod, peer, p.port, "StatefulSet peers", p.protocol);
    }
  }
  // The load balancer: the HTTPRoutes' backends and the health-checked ports.
  const balanced = [
    ...objects
      .filter((o) => o.kind === "HTTPRoute")
      .flatMap((r) =>
        r.spec.rules.flatMap((rule: { backendRefs?: { name: string; port: number }[] }) => rule.backendRefs ?? []),
      )
      .map((ref) => ({ service: ref.name, port: ref.port, namespace: "weather-tweets" })),
  ];
  for (const check of objects.filter((o) => o.kind === "HealthCheckPolicy")) {
    const svc = objects.find((o) => o.kind === "Service" && o.metadata.name === check.spec.targetRef.name);
    const hcPort = check.spec.default.config.httpHealthCheck.port;
    for (const pod of [...m.pods.entries()]
      .filter(([w]) =>
        Object.entries<string>(svc?.spec.selector ?? {}).every(([k, v]) => podTemplate(w).metadata?.labels?.[k] === v),
      )
      .flatMap(([, p]) => p))
      for (const lb of LOAD_BALANCER)
        need(address(`load balancer ${lb}`, lb), pod, hcPort, "load balancer health check");
  }
  for (const { service, port, namespace } of balanced)
    for (const b of m.backends(service, port, namespace))
      for (const lb of LOAD_BALANCER)
        need(address(`load balancer ${lb}`, lb), b.pod, b.port, `the Gateway routes to ${service}`);
  // KEDA reads the brokers its ScaledObjects name.
  for (const scaled of objects.filter((o) => o.kind === "ScaledObject")) {
    for (const trigger of scaled.spec.triggers) {
      if (trigger.type === "kafka") {
        for (const broker of trigger.metadata.bootstrapServers.split(","))
          toUrlFrom(KEDA_OPERATOR, `kafka://${broker}`, "KEDA reads Kafka consumer lag");
      } else if (trigger.type === "rabbitmq") {
        const auth = objects.find(
          (o) => o.kind === "TriggerAuthentication" && o.metadata.name === trigger.authenticationRef.name,
        );
        const ref = auth?.spec.secretTargetRef.find((r: { parameter: string }) => r.parameter === "host");
        const host = trigger.metadata.host ?? GKE_EXTERNAL_SECRETS[ref.name]?.[ref.key];
        toUrlFrom(KEDA_OPERATOR, host, "KEDA reads RabbitMQ queue length");
      } else throw new Error(`KEDA trigger ${trigger.type} not modelled`);
    }
  }
  return flows;

  function toUrlFrom(from: PodEndpoint, url: string, why: string) {
    const parsed = new URL(url);
    const port = Number(parsed.port) || (DEFAULT_PORTS[parsed.protocol] as number);
    // KEDA runs in its own namespace and names our Services fully (name.namespace.svc, or
    // pod.name.namespace.svc for one pod of a StatefulSet): the namespace is the label before "svc".
    const labels = parsed.hostname.split(".");
    const namespace = labels[labels.indexOf("svc") - 1] ?? from.namespace;
    for (const b of m.backends(parsed.hostname, port, namespace)) need(from, b.pod, b.port, why);
  }
}

const formsWithPolicies = clusterForms().filter(({ objects }) => objects.some((o) => o.kind === "NetworkPolicy"));

test("the GKE overlays render NetworkPolicies (kind runs without: nothing to evaluate there)", () => {
  expect(formsWithPolicies.map((f) => f.form)).toEqual(["gke", "gke-ha"]);
});

describe.each(formsWithPolicies)("$form", ({ objects }) => {
  const policies = objects.filter((o) => o.kind === "NetworkPolicy");
  const m = model(objects);
  // Derived in the first test that needs it, so that a failure to derive is that test's failure.
  let derived: NeededFlow[] | undefined;
  const needed = () => {
    derived ??= neededFlows(objects, m);
    return derived;
  };
  const neededKeys = () => new Set(needed().map(key));
  // A pod by name (whatever address it is given), an outside end by address.
  const end = (e: Endpoint) => (e.kind === "pod" ? e.name : e.ip);
  const key = (f: Flow) => `${end(f.from)}|${end(f.to)}|${f.protocol}|${f.port}`;
  const allPods = [...m.pods.values()].flat();

  test("every flow the system needs is allowed", () => {
    const apps = new Set(needed().map((f) => f.why));
    // The derivation found what the issue lists (not an empty list passing vacuously).
    for (const why of [
      "API publishes to RabbitMQ",
      "API publishes to Kafka",
      "DNS (Cloud DNS)",
      "DNS (NodeLocal DNSCache)",
      "DNS (kube-dns)",
      "KEDA reads Kafka consumer lag",
      "KEDA reads RabbitMQ queue length",
      "load balancer health check",
      "Grafana reads Prometheus",
    ]) {
      expect(apps).toContain(why);
    }
    const denied = needed()
      .map((f) => ({ f, verdict: evaluate(policies, f) }))
      .filter(({ verdict }) => !verdict.allowed)
      .map(({ f, verdict }) => `${describeFlow(f)} (${f.why}): ${verdict.reason}`);
    expect([...new Set(denied)]).toEqual([]);
  });

  test("between the system's pods, nothing else is allowed (pods given addresses, so ipBlocks count too)", () => {
    const extra: string[] = [];
    const wanted = neededKeys();
    for (const from of allPods) {
      for (const [w, targets] of m.pods) {
        for (const to of targets) {
          if (to === from) continue;
          for (const { port, protocol } of m.containerPorts(w)) {
            const f = { from, to, port, protocol };
            if (!wanted.has(key(f)) && evaluate(policies, f).allowed) extra.push(describeFlow(f));
          }
        }
      }
    }
    expect(extra).toEqual([]);
  });

  test("from outside, only the load balancer reaches the routed services; a look-alike pod elsewhere reaches nothing", () => {
    const extra: string[] = [];
    const wanted = neededKeys();
    for (const [w, targets] of m.pods) {
      for (const to of targets) {
        for (const { port, protocol } of m.containerPorts(w)) {
          const sources: Endpoint[] = [
            address("the internet", INTERNET),
            ...LOAD_BALANCER.map((lb) => address(`load balancer ${lb}`, lb)),
            // The same labels as a pod of ours, in another namespace: selectors must not be fooled.
            ...allPods.map((p) => ({
              ...p,
              name: `intruder/${p.name}`,
              namespace: "intruder",
              namespaceLabels: { "kubernetes.io/metadata.name": "intruder" },
            })),
          ];
          for (const from of sources) {
            const f = { from, to, port, protocol };
            if (!wanted.has(key(f)) && evaluate(policies, f).allowed) extra.push(describeFlow(f));
          }
        }
      }
    }
    expect(extra).toEqual([]);
  });

  test("no pod reaches the metadata server's HTTP port (node credentials), nor the internet unless it needs to", () => {
    const extra: string[] = [];
    const wanted = neededKeys();
    for (const from of allPods) {
      const f = { from, to: address("metadata server", METADATA_SERVER), port: 80, protocol: "TCP" as const };
      if (evaluate(policies, f).allowed) extra.push(describeFlow(f));
      for (const port of [80, 443, 5672, 6379, 9092]) {
        const out = { from, to: address("the internet", INTERNET), port, protocol: "TCP" as const };
        if (!wanted.has(key(out)) && evaluate(policies, out).allowed) extra.push(describeFlow(out));
      }
    }
    expect(extra).toEqual([]);
  });
});
