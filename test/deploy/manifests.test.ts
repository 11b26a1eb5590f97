/**
 * Kubernetes manifests: every overlay rendered by the real kustomize, every object validated
 * against its schema (Kubernetes, Gateway API, KEDA, GKE), then the rules the issue sets:
 * hardened pods, probes, resources, secrets kept out, references that resolve, and the
 * production extras of the GKE overlay.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadApiConfig } from "../../api/src/config.ts";
import { loadConsumerConfig } from "../../consumers/src/config.ts";
import { ensureKafkaTopics, rabbitmqQueueArguments, rabbitmqUrls } from "../../packages/brokers/src/index.ts";
import { containerEnvironment, fakeClusterIPs } from "./kubelet-env.ts";
import {
  CLUSTER_SCOPED_KINDS,
  DEPLOYABLES,
  find,
  GKE_EXTERNAL_SECRETS,
  GKE_VARS,
  type K8sObject,
  kustomizeBuild,
  makeRender,
  parseYamlDocuments,
  ROOT,
  validateObject,
  workloads,
} from "./manifests.ts";

const OVERLAYS = ["k8s/base", "kind", "kind/load", "gke", "kind-ha", "gke-ha"] as const;
const rendered: Record<string, K8sObject[]> = {};

/** kustomize runs once per overlay: seconds, more on a busy machine. */
const RENDER_TIMEOUT_MS = 60_000;
beforeAll(() => {
  for (const overlay of OVERLAYS) rendered[overlay] = kustomizeBuild(overlay);
  rendered["gke-render"] = makeRender("gke-render", GKE_VARS);
  rendered["gke-ha-render"] = makeRender("gke-render", { ...GKE_VARS, TOPOLOGY: "ha" });
}, RENDER_TIMEOUT_MS);

const all = (overlay: string): K8sObject[] => {
  const objects = rendered[overlay];
  if (!objects) throw new Error(`overlay ${overlay} was not rendered`);
  return objects;
};
// biome-ignore lint/suspicious/noExplicitAny: pod templates are read structurally
const podSpec = (w: K8sObject): any => w.spec.template.spec;

describe.each([...OVERLAYS, "gke-render", "gke-ha-render"])("%s", (overlay) => {
  test("every object validates against its offline schema", async () => {
    const objects = all(overlay);
    expect(objects.length).toBeGreaterThan(0);
    const errors: string[] = [];
    for (const object of objects) {
      await validateObject(object).catch((error: Error) => errors.push(error.message));
    }
    expect(errors).toEqual([]);
  });

  test("pods are hardened: non-root, seccomp, read-only root, no capabilities, resources", () => {
    const problems: string[] = [];
    for (const w of workloads(all(overlay))) {
      const spec = podSpec(w);
      const name = `${w.kind}/${w.metadata.name}`;
      if (spec.securityContext?.runAsNonRoot !== true) problems.push(`${name}: runAsNonRoot`);
      if (spec.securityContext?.seccompProfile?.type !== "RuntimeDefault") problems.push(`${name}: seccomp`);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
        const sc = c.securityContext ?? {};
        if (sc.readOnlyRootFilesystem !== true) problems.push(`${name}/${c.name}: readOnlyRootFilesystem`);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${name}/${c.name}: allowPrivilegeEscalation`);
        if (!sc.capabilities?.drop?.includes("ALL")) problems.push(`${name}/${c.name}: capabilities not dropped`);
        if (sc.privileged) problems.push(`${name}/${c.name}: privileged`);
        for (const kind of ["requests", "limits"]) {
          for (const resource of ["cpu", "memory"]) {
            if (!c.resources?.[kind]?.[resource]) problems.push(`${name}/${c.name}: no ${kind}.${resource}`);
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("long-running containers have readiness and liveness probes", () => {
    const missing = all(overlay)
      .filter((o) => o.kind === "Deployment" || o.kind === "StatefulSet")
      .flatMap((w) =>
        // biome-ignore lint/suspicious/noExplicitAny: container specs
        podSpec(w).containers.flatMap((c: any) =>
          ["readinessProbe", "livenessProbe"].filter((p) => !c[p]).map((p) => `${w.metadata.name}/${c.name}: ${p}`),
        ),
      );
    expect(missing).toEqual([]);
  });

  test("Services select pods that exist and target ports those pods declare", () => {
    const objects = all(overlay);
    const problems: string[] = [];
    for (const service of objects.filter((o) => o.kind === "Service")) {
      const selector: Record<string, string> = service.spec.selector ?? {};
      const pods = workloads(objects).filter((w) =>
        Object.entries(selector).every(([k, v]) => w.spec.template.metadata?.labels?.[k] === v),
      );
      if (pods.length === 0) {
        problems.push(`Service ${service.metadata.name}: selects no pod`);
        continue;
      }
      // biome-ignore lint/suspicious/noExplicitAny: port specs
      const declared = pods.flatMap((w) => podSpec(w).containers.flatMap((c: any) => c.ports ?? []));
      for (const port of service.spec.ports) {
        const target = port.targetPort ?? port.port;
        if (!declared.some((p) => p.name === target || p.containerPort === target)) {
          problems.push(`Service ${service.metadata.name}: targetPort ${target} not declared by its pods`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("ConfigMap and Secret references resolve (Secrets made outside the overlay excepted)", () => {
    const objects = all(overlay);
    const names = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
    const configMaps = names("ConfigMap");
    const secrets = names("Secret");
    const problems: string[] = [];
    const secretRefs = new Set<string>();
    const secretVolumes = new Set<string>();
    for (const w of workloads(objects)) {
      for (const volume of podSpec(w).volumes ?? []) {
        if (volume.configMap && !configMaps.has(volume.configMap.name)) {
          problems.push(`${w.metadata.name}: ConfigMap ${volume.configMap.name} missing`);
        }
        if (volume.secret) secretVolumes.add(volume.secret.secretName);
      }
      // biome-ignore lint/suspicious/noExplicitAny: env specs
      for (const c of podSpec(w).containers as any[]) {
        for (const env of c.env ?? []) {
          if (env.valueFrom?.secretKeyRef) secretRefs.add(env.valueFrom.secretKeyRef.name);
        }
      }
    }
    // kind generates its Secrets; base and GKE must reference the out-of-band names exactly.
    if (overlay.startsWith("kind") && overlay !== "kind/load") {
      for (const ref of [...secretRefs, ...secretVolumes])
        if (!secrets.has(ref)) problems.push(`Secret ${ref} missing`);
    } else if (overlay !== "kind/load") {
      expect([...secretRefs].sort()).toEqual(["grafana-admin", "rabbitmq-credentials"]);
      // Mounted ones too: only those `make gke-secrets` creates (the HA nodes' Erlang cookie).
      for (const ref of secretVolumes) if (!(ref in GKE_EXTERNAL_SECRETS)) problems.push(`Secret ${ref} not made`);
    }
    expect(problems).toEqual([]);
  });

  test("every namespaced object names the system's namespace (kubectl's context must not decide)", () => {
    const astray = all(overlay)
      .filter((o) => !CLUSTER_SCOPED_KINDS.has(o.kind) && o.metadata.namespace !== "weather-tweets")
      .map((o) => `${o.kind}/${o.metadata.name}: namespace ${o.metadata.namespace ?? "unset"}`);
    expect(astray).toEqual([]);
  });

  // The kubelet applies fsGroup to a volume on every mount unless told OnRootMismatch; RabbitMQ's
  // volume is its home, and Erlang refuses the .erlang.cookie that this makes group-readable.
  test("pods keeping data on persistent volumes with an fsGroup use fsGroupChangePolicy OnRootMismatch", () => {
    const problems: string[] = [];
    for (const w of workloads(all(overlay))) {
      const spec = podSpec(w);
      const persistent = [
        ...(w.spec.volumeClaimTemplates ?? []).map((t: K8sObject) => t.metadata.name),
        // biome-ignore lint/suspicious/noExplicitAny: volume specs
        ...(spec.volumes ?? []).filter((v: any) => v.persistentVolumeClaim || v.ephemeral).map((v: any) => v.name),
      ];
      if (persistent.length === 0 || spec.securityContext?.fsGroup === undefined) continue;
      if (spec.securityContext.fsGroupChangePolicy !== "OnRootMismatch") {
        problems.push(
          `${w.kind}/${w.metadata.name}: fsGroupChangePolicy ${spec.securityContext.fsGroupChangePolicy ?? "unset (Always)"}`,
        );
      }
    }
    expect(problems).toEqual([]);
  });

  test("no credentials in clear in container environments", () => {
    const leaks: string[] = [];
    for (const w of workloads(all(overlay))) {
      // biome-ignore lint/suspicious/noExplicitAny: env specs
      for (const c of podSpec(w).containers as any[]) {
        for (const env of c.env ?? []) {
          const value = String(env.value ?? "");
          if (/PASS|SECRET|TOKEN/.test(env.name) && env.value !== undefined)
            leaks.push(`${w.metadata.name} ${env.name}`);
          // A URL with user:password must take both from variables filled from a Secret.
          const auth = value.match(/^\w+:\/\/([^@/]+)@/);
          if (auth && !/^\$\(\w+\):\$\(\w+\)$/.test(auth[1] ?? "")) leaks.push(`${w.metadata.name} ${env.name}`);
        }
      }
    }
    expect(leaks).toEqual([]);
  });
});

describe("base", () => {
  test("brokers and stores are StatefulSets with persistent volumes mounted", () => {
    for (const name of ["rabbitmq", "kafka", "valkey", "redis"]) {
      const set = find(all("k8s/base"), "StatefulSet", name);
      const claims: string[] = set.spec.volumeClaimTemplates.map((t: K8sObject) => t.metadata.name);
      expect(claims.length).toBeGreaterThan(0);
      // biome-ignore lint/suspicious/noExplicitAny: mounts
      const mounted = set.spec.template.spec.containers[0].volumeMounts.map((m: any) => m.name);
      for (const claim of claims) expect(mounted).toContain(claim);
      expect(set.spec.serviceName).toBe(find(all("k8s/base"), "Service", name).metadata.name);
    }
  });

  test("HTTPRoutes send / to the API and /grafana to Grafana, through the one Gateway", () => {
    const objects = all("k8s/base");
    const gateway = find(objects, "Gateway", "weather-tweets");
    const listeners: string[] = gateway.spec.listeners.map((l: { name: string }) => l.name);
    const expected = { api: "/", grafana: "/grafana" } as const;
    for (const [name, prefix] of Object.entries(expected)) {
      const route = find(objects, "HTTPRoute", name);
      expect(route.spec.parentRefs).toEqual([{ name: "weather-tweets", sectionName: "http" }]);
      expect(listeners).toContain("http");
      const rule = route.spec.rules[0];
      expect(rule.matches[0].path).toEqual({ type: "PathPrefix", value: prefix });
      const backend = rule.backendRefs[0];
      const service = find(objects, "Service", backend.name);
      expect(service.spec.ports.map((p: { port: number }) => p.port)).toContain(backend.port);
    }
  });

  test("Prometheus may only read pods of its namespace, and scrapes the annotated services", () => {
    const objects = all("k8s/base");
    const role = find(objects, "Role", "prometheus-pod-discovery");
    expect(role.rules).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }]);
    expect(podSpec(find(objects, "Deployment", "prometheus")).serviceAccountName).toBe("prometheus");
    for (const name of DEPLOYABLES) {
      const template = find(objects, "Deployment", name).spec.template;
      expect(template.metadata.annotations["prometheus.io/scrape"]).toBe("true");
      const port = Number(template.metadata.annotations["prometheus.io/port"]);
      expect(template.spec.containers[0].ports.map((p: { containerPort: number }) => p.containerPort)).toContain(port);
    }
  });
});

describe("kind", () => {
  test("runs the locally built images (tag kind, never pulled) with the cloud-provider-kind GatewayClass", () => {
    const objects = all("kind");
    for (const name of DEPLOYABLES) {
      const container = podSpec(find(objects, "Deployment", name)).containers[0];
      expect(container.image).toBe(`weather-tweets/${name}:kind`);
      expect(container.imagePullPolicy).toBe("IfNotPresent");
    }
    expect(find(objects, "Gateway", "weather-tweets").spec.gatewayClassName).toBe("cloud-provider-kind");
  });

  test("the cluster config maps exactly the NodePorts the overlay opens", () => {
    const cluster = parseYamlDocuments(readFileSync(join(ROOT, "kind/cluster.yaml"), "utf8"))[0] as K8sObject;
    const mapped = cluster.nodes[0].extraPortMappings.map((m: { containerPort: number }) => m.containerPort).sort();
    const nodePorts = all("kind")
      .filter((o) => o.kind === "Service" && o.spec.type === "NodePort")
      .flatMap((s) => s.spec.ports.map((p: { nodePort: number }) => p.nodePort))
      .sort();
    expect(nodePorts).toEqual(mapped);
    for (const m of cluster.nodes[0].extraPortMappings) expect(m.listenAddress).toBe("127.0.0.1");
  });

  test("the Locust job runs the project's locustfile against the api Service", () => {
    const objects = all("kind/load");
    const job = find(objects, "Job", "locust");
    const args: string[] = podSpec(job).containers[0].args;
    expect(args).toContain("--host=http://api:3000");
    expect(args).toContain("--headless");
    const locustfile = find(objects, "ConfigMap", podSpec(job).volumes[0].configMap.name);
    expect(locustfile.data["locustfile.py"]).toBe(readFileSync(join(ROOT, "locust/locustfile.py"), "utf8"));
  });
});

describe("gke", () => {
  test("images come from Artifact Registry with the tag make gke-deploy was given", () => {
    const objects = all("gke-render");
    const { REGION, PROJECT, REPO, IMAGE_TAG } = GKE_VARS;
    for (const name of DEPLOYABLES) {
      expect(podSpec(find(objects, "Deployment", name)).containers[0].image).toBe(
        `${REGION}-docker.pkg.dev/${PROJECT}/${REPO}/${name}:${IMAGE_TAG}`,
      );
    }
  });

  test("no Secret is committed: credentials are created by make gke-secrets", () => {
    expect(all("gke").filter((o) => o.kind === "Secret")).toEqual([]);
    expect(all("k8s/base").filter((o) => o.kind === "Secret")).toEqual([]);
  });

  test("uses a GKE GatewayClass with health checks on real endpoints", () => {
    const objects = all("gke");
    expect(find(objects, "Gateway", "weather-tweets").spec.gatewayClassName).toMatch(/^gke-l7-/);
    const checks = { api: "/readyz", grafana: "/grafana/api/health" } as const;
    for (const [service, path] of Object.entries(checks)) {
      const policy = find(objects, "HealthCheckPolicy", service);
      expect(policy.spec.targetRef).toEqual({ group: "", kind: "Service", name: service });
      expect(policy.spec.default.config.httpHealthCheck.requestPath).toBe(path);
    }
  });

  test("HTTPS with a Google-managed certificate for DOMAIN; port 80 only redirects to HTTPS", () => {
    const objects = all("gke-render");
    const gateway = find(objects, "Gateway", "weather-tweets");
    // Certificate Manager: the map make gke-tls creates, named by GKE's annotation.
    expect(gateway.metadata.annotations?.["networking.gke.io/certmap"]).toBe("weather-tweets");
    const https = gateway.spec.listeners.find((l: { protocol: string }) => l.protocol === "HTTPS");
    expect(https).toMatchObject({ port: 443 });
    const mkfile = readFileSync(join(ROOT, "mk/deploy.mk"), "utf8");
    expect(mkfile).toContain("certificate-manager certificates create $(GKE_TLS_NAME) --domains=$(DOMAIN)");
    expect(mkfile).toContain("certificate-manager maps entries create $(GKE_TLS_NAME) --map=$(GKE_TLS_NAME)");
    expect(mkfile).toMatch(/^GKE_TLS_NAME := weather-tweets$/m);

    const routes = objects.filter((o) => o.kind === "HTTPRoute");
    for (const route of routes) expect(route.spec.hostnames).toEqual([GKE_VARS.DOMAIN]);
    const onListener = (name: string) =>
      routes.filter((r) => r.spec.parentRefs.some((p: { sectionName?: string }) => p.sectionName === name));
    // Every route is bound to one listener by name: none attaches to all of them.
    for (const route of routes) {
      expect(route.spec.parentRefs.every((p: { sectionName?: string }) => p.sectionName)).toBe(true);
    }
    expect(
      onListener(https.name)
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual(["api", "grafana"]);
    const plain = gateway.spec.listeners.filter((l: { protocol: string }) => l.protocol === "HTTP");
    for (const listener of plain) {
      for (const route of onListener(listener.name)) {
        for (const rule of route.spec.rules) {
          expect(rule.backendRefs ?? []).toEqual([]);
          expect(rule.filters).toEqual([
            { type: "RequestRedirect", requestRedirect: { scheme: "https", statusCode: 301 } },
          ]);
        }
      }
    }
    const grafana = podSpec(find(objects, "Deployment", "grafana")).containers[0].env;
    expect(grafana).toContainEqual({ name: "GF_SERVER_ROOT_URL", value: `https://${GKE_VARS.DOMAIN}/grafana/` });
    expect(grafana).toContainEqual({ name: "GF_SECURITY_COOKIE_SECURE", value: "true" });
  });

  test("API: HPA 1-3 replicas on CPU; the Deployment leaves replicas to it", () => {
    const objects = all("gke");
    const hpa = find(objects, "HorizontalPodAutoscaler", "api");
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "api" });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, 3]);
    expect(hpa.spec.metrics[0].resource.name).toBe("cpu");
    expect(find(objects, "Deployment", "api").spec.replicas).toBeUndefined();
  });

  test("consumers scale with KEDA; Kafka capped at the topic's partitions", () => {
    const objects = all("gke");
    const kafka = find(objects, "ScaledObject", "kafka-consumer");
    // biome-ignore lint/suspicious/noExplicitAny: env specs
    const env = (name: string) => podSpec(find(objects, "Deployment", name)).containers[0].env as any[];
    const partitions = Number(env("kafka-consumer").find((e) => e.name === "KAFKA_TOPIC_PARTITIONS")?.value);
    const brokerDefault = readFileSync(join(ROOT, "k8s/base/kafka-server.properties"), "utf8").match(
      /^num\.partitions=(\d+)$/m,
    )?.[1];
    expect(kafka.spec.maxReplicaCount).toBe(partitions);
    expect(Number(brokerDefault)).toBe(partitions);
    const trigger = kafka.spec.triggers[0];
    expect(trigger.type).toBe("kafka");
    expect(trigger.metadata.allowIdleConsumers).toBe("false");
    expect(trigger.metadata.consumerGroup).toBe(env("kafka-consumer").find((e) => e.name === "KAFKA_GROUP_ID")?.value);
    expect(trigger.metadata.topic).toBe(env("kafka-consumer").find((e) => e.name === "KAFKA_TOPIC")?.value);

    const rabbit = find(objects, "ScaledObject", "rabbitmq-consumer");
    expect(rabbit.spec.minReplicaCount).toBe(2);
    expect(rabbit.spec.triggers[0].type).toBe("rabbitmq");
    expect(rabbit.spec.triggers[0].metadata.mode).toBe("QueueLength");
    expect(rabbit.spec.triggers[0].metadata.queueName).toBe(
      env("rabbitmq-consumer").find((e) => e.name === "RABBITMQ_QUEUE")?.value,
    );
    find(objects, "TriggerAuthentication", rabbit.spec.triggers[0].authenticationRef.name);
    for (const scaled of [kafka, rabbit]) {
      expect(find(objects, "Deployment", scaled.spec.scaleTargetRef.name).spec.replicas).toBeUndefined();
    }
  });

  test("every workload has a PodDisruptionBudget", () => {
    const objects = all("gke");
    const budgets = objects.filter((o) => o.kind === "PodDisruptionBudget");
    for (const w of workloads(objects)) {
      const labels = w.spec.template.metadata.labels;
      const covered = budgets.some((b) =>
        Object.entries(b.spec.selector.matchLabels as Record<string, string>).every(([k, v]) => labels[k] === v),
      );
      expect(covered ? w.metadata.name : `${w.metadata.name}: no PDB`).toBe(w.metadata.name);
    }
  });

  test("network policies: default deny, then each workload admitted only on ports it serves", () => {
    const objects = all("gke");
    const policies = objects.filter((o) => o.kind === "NetworkPolicy");
    const deny = find(objects, "NetworkPolicy", "default-deny");
    expect(deny.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
    const byApp = new Map(
      workloads(objects).map((w) => [w.spec.template.metadata.labels["app.kubernetes.io/name"], w]),
    );
    const servedPorts = (app: string) =>
      podSpec(byApp.get(app) as K8sObject).containers.flatMap((c: { ports?: { containerPort: number }[] }) =>
        (c.ports ?? []).map((p) => p.containerPort),
      );
    const problems: string[] = [];
    for (const app of byApp.keys()) {
      const own = policies.filter((p) => p.spec.podSelector.matchLabels?.["app.kubernetes.io/name"] === app);
      if (own.length === 0) problems.push(`${app}: no NetworkPolicy of its own`);
      for (const policy of own) {
        for (const rule of policy.spec.ingress ?? []) {
          for (const port of rule.ports ?? []) {
            if (!servedPorts(app).includes(port.port)) problems.push(`${app}: ingress on ${port.port}, not served`);
          }
        }
      }
      // Every egress to a pod of the namespace targets a port that pod serves.
      for (const policy of own) {
        for (const rule of policy.spec.egress ?? []) {
          for (const peer of rule.to ?? []) {
            const target = peer.podSelector?.matchLabels?.["app.kubernetes.io/name"];
            if (!target || peer.namespaceSelector) continue;
            if (!byApp.has(target)) problems.push(`${app}: egress to unknown ${target}`);
            else
              for (const port of rule.ports ?? []) {
                if (!servedPorts(target).includes(port.port))
                  problems.push(`${app} -> ${target}:${port.port} not served`);
              }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

/** The HA topology (k8s/ha, added by kind-ha and gke-ha): the shape the issue sets, in both. */
describe.each(["kind-ha", "gke-ha-render"])("HA topology: %s", (overlay) => {
  const objects = () => all(overlay);
  const env = (kind: string, name: string) => {
    const workload = find(objects(), kind, name);
    const container = podSpec(workload).containers[0];
    return containerEnvironment(objects(), workload, container, {
      clusterIP: fakeClusterIPs(objects()),
      externalSecrets: GKE_EXTERNAL_SECRETS,
    });
  };
  const properties = (configMap: K8sObject, key: string): Record<string, string> =>
    Object.fromEntries(
      (configMap.data[key] as string)
        .split("\n")
        .filter((line) => /^[a-z]/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );

  test("RabbitMQ and Kafka: three pods each, started together, one per zone, peers resolvable before ready", () => {
    for (const name of ["rabbitmq", "kafka"]) {
      const set = find(objects(), "StatefulSet", name);
      expect({ name, replicas: set.spec.replicas, policy: set.spec.podManagementPolicy }).toEqual({
        name,
        replicas: 3,
        policy: "Parallel",
      });
      const required = podSpec(set).affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      expect(required).toEqual([
        {
          topologyKey: "topology.kubernetes.io/zone",
          labelSelector: { matchLabels: { "app.kubernetes.io/name": name } },
        },
      ]);
      const service = find(objects(), "Service", set.spec.serviceName);
      expect({ name, publishNotReadyAddresses: service.spec.publishNotReadyAddresses }).toEqual({
        name,
        publishNotReadyAddresses: true,
      });
    }
  });

  test("RabbitMQ clusters through the Kubernetes API: its Service's endpoints, read by its own account only", () => {
    const set = find(objects(), "StatefulSet", "rabbitmq");
    const spec = podSpec(set);
    const mounted = spec.containers[0].volumeMounts.find((m: { subPath?: string }) => m.subPath === "20-cluster.conf");
    const volume = spec.volumes.find((v: { name: string }) => v.name === mounted.name);
    const conf = properties(find(objects(), "ConfigMap", volume.configMap.name), "20-cluster.conf");
    const key = (k: string) => conf[`${k} `]?.trim() ?? conf[k]?.trim();
    expect(key("cluster_formation.peer_discovery_backend")).toBe("k8s");
    expect(key("cluster_formation.k8s.service_name")).toBe(set.spec.serviceName);
    expect(key("cluster_formation.k8s.hostname_suffix")).toBe(
      `.${set.spec.serviceName}.weather-tweets.svc.cluster.local`,
    );
    expect(key("cluster_partition_handling")).toBe("pause_minority");
    // Khepri (Raft) for the metadata, as the native HA nodes: partitions heal by themselves.
    expect(env("StatefulSet", "rabbitmq").RABBITMQ_FEATURE_FLAGS?.split(",")).toContain("khepri_db");
    // Node names the peers can resolve: the pod's name under the governing Service.
    expect(env("StatefulSet", "rabbitmq").RABBITMQ_NODENAME).toMatch(
      /^rabbit@rabbitmq-\d\.rabbitmq\.weather-tweets\.svc\.cluster\.local$/,
    );
    const plugins = find(objects(), "ConfigMap", volume.configMap.name).data.enabled_plugins;
    expect(plugins).toContain("rabbitmq_peer_discovery_k8s");
    // Its account may get endpoints in the namespace, and nothing else.
    expect(spec.serviceAccountName).toBe("rabbitmq");
    const binding = objects().find(
      (o) => o.kind === "RoleBinding" && o.subjects.some((s: { name: string }) => s.name === spec.serviceAccountName),
    ) as K8sObject;
    expect(find(objects(), "Role", binding.roleRef.name).rules).toEqual([
      { apiGroups: [""], resources: ["endpoints"], verbs: ["get"] },
    ]);
    // One Erlang cookie for the three nodes, from a Secret, copied owner-only before the node starts.
    const cookie = spec.volumes.find((v: { secret?: unknown }) => v.secret);
    // (kind generates it, with a hash suffix; GKE's comes from make gke-secrets)
    expect(cookie.secret.secretName).toMatch(/^rabbitmq-erlang-cookie(-[a-z0-9]+)?$/);
    expect(spec.initContainers[0].command.join(" ")).toContain("install -m 600");
  });

  test("Kafka: three controller voters, node.id the pod's ordinal; three copies, min.insync.replicas 2", () => {
    const set = find(objects(), "StatefulSet", "kafka");
    const spec = podSpec(set);
    const volume = spec.volumes.find((v: { name: string }) => v.name === "config");
    const config = properties(find(objects(), "ConfigMap", volume.configMap.name), "server.properties");
    expect(config["controller.quorum.voters"]?.split(",")).toEqual(
      [0, 1, 2].map((i) => `${i}@kafka-${i}.${set.spec.serviceName}.weather-tweets.svc.cluster.local:9093`),
    );
    expect(config["process.roles"]).toBe("broker,controller");
    // node.id from the pod name's ordinal, by the shell of the container.
    expect(spec.containers[0].args[0]).toContain(["node.id=$", "{POD_NAME##*-}"].join(""));
    for (const [key, value] of Object.entries({
      "default.replication.factor": "3",
      "min.insync.replicas": "2",
      "offsets.topic.replication.factor": "3",
      "transaction.state.log.replication.factor": "3",
      "transaction.state.log.min.isr": "2",
      "unclean.leader.election.enable": "false",
    }))
      expect(`${key}=${config[key]}`).toBe(`${key}=${value}`);
  });

  test("the services list every node, create topics with three copies (min ISR 2) and a quorum queue of three", async () => {
    const api = loadApiConfig(env("Deployment", "api"));
    const rabbitConsumer = loadConsumerConfig(env("Deployment", "rabbitmq-consumer"));
    const kafkaConsumer = loadConsumerConfig(env("Deployment", "kafka-consumer"));
    for (const config of [api, rabbitConsumer]) {
      expect(rabbitmqUrls(config.RABBITMQ_URL).map((url) => new URL(url).host)).toEqual(
        [0, 1, 2].map((i) => `rabbitmq-${i}.rabbitmq:5672`),
      );
      expect(
        rabbitmqQueueArguments({
          queue: "q",
          type: config.RABBITMQ_QUEUE_TYPE,
          deliveryLimit: 20,
          quorumGroupSize: config.RABBITMQ_QUORUM_GROUP_SIZE,
        }),
      ).toMatchObject({ "x-queue-type": "quorum", "x-quorum-initial-group-size": 3 });
    }
    for (const config of [api, kafkaConsumer]) {
      expect(config.KAFKA_BROKERS.split(",")).toEqual([0, 1, 2].map((i) => `kafka-${i}.kafka:9092`));
      // The services' own topic creation, on a stand-in admin client that records the request.
      const requests: unknown[] = [];
      const admin = {
        listTopics: async () => [],
        createTopics: async (request: unknown) => void requests.push(request),
      };
      await ensureKafkaTopics(admin as never, ["t"], {
        partitions: config.KAFKA_TOPIC_PARTITIONS,
        replicationFactor: config.KAFKA_REPLICATION_FACTOR,
      });
      expect(requests).toEqual([
        expect.objectContaining({ replicas: 3, configs: [{ name: "min.insync.replicas", value: "2" }] }),
      ]);
    }
  });
});

describe("gke-ha", () => {
  test("disruption budgets keep two broker nodes of three (a quorum) through node upgrades", () => {
    for (const name of ["rabbitmq", "kafka"]) {
      const budget = find(all("gke-ha"), "PodDisruptionBudget", name);
      expect(budget.spec).toEqual({ minAvailable: 2, selector: { matchLabels: { "app.kubernetes.io/name": name } } });
      expect(find(all("gke-ha"), "StatefulSet", name).spec.replicas).toBe(3);
    }
  });

  test("KEDA reads the Kafka lag from any of the three brokers", () => {
    const trigger = find(all("gke-ha"), "ScaledObject", "kafka-consumer").spec.triggers[0];
    expect(trigger.metadata.bootstrapServers.split(",")).toEqual(
      [0, 1, 2].map((i) => `kafka-${i}.kafka.weather-tweets.svc:9092`),
    );
  });
});

describe("kind-ha", () => {
  test("the cluster has three workers in three zones, as the one-node-per-zone rule needs", () => {
    const cluster = parseYamlDocuments(readFileSync(join(ROOT, "kind-ha/cluster.yaml"), "utf8"))[0] as K8sObject;
    const zones = cluster.nodes
      .filter((node: { role: string }) => node.role === "worker")
      .map((node: { labels: Record<string, string> }) => node.labels["topology.kubernetes.io/zone"]);
    expect(new Set(zones).size).toBe(3);
    expect(find(all("kind-ha"), "StatefulSet", "rabbitmq").spec.replicas).toBe(zones.length);
  });
});
