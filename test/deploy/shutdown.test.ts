/**
 * Termination timing of our pods against the services' own shutdown timers, read from their config
 * (the real loaders on the kubelet's environment: defaults come from the config schemas) and from
 * api/src/server.ts, which also sets the API's hard-exit timer. On a rollout the kubelet runs the
 * preStop hook, then sends SIGTERM, and kills the container terminationGracePeriodSeconds after the
 * start. The API must keep serving until the load balancer and the Service stop sending to it, then
 * drain, close its broker clients and exit, all before that.
 */
import { describe, expect, test } from "bun:test";
import { loadApiConfig } from "../../api/src/config.ts";
import { shutdownBudgetMs } from "../../api/src/server.ts";
import { loadConsumerConfig } from "../../consumers/src/config.ts";
import { containerEnvironment, fakeClusterIPs } from "./kubelet-env.ts";
import {
  clusterForms,
  GKE_EXTERNAL_SECRETS,
  imageBaseName,
  type K8sObject,
  podTemplate,
  workloads,
} from "./manifests.ts";

/** Between the process's own exit and the kubelet's SIGKILL. */
const KUBELET_MARGIN_MS = 1000;
/** A consumer closes its broker and store clients and exits after finishing its batch. */
const CONSUMER_CLOSE_MARGIN_MS = 2000;
/** Kubernetes' defaults when a manifest leaves them out. */
const DEFAULT_GRACE_SECONDS = 30;
const DEFAULT_READINESS = { periodSeconds: 10, failureThreshold: 3 };
const DEFAULT_HEALTH_CHECK = { checkIntervalSec: 5, unhealthyThreshold: 2 };

// biome-ignore lint/suspicious/noExplicitAny: container specs are read structurally
function preStopMs(container: any): number {
  const hook = container.lifecycle?.preStop;
  if (!hook) return 0;
  if (hook.sleep) return hook.sleep.seconds * 1000;
  const command: string[] = hook.exec?.command ?? [];
  const sleep = command.join(" ").match(/(?:^|\s)sleep\s+(\d+)$/);
  if (sleep) return Number(sleep[1]) * 1000;
  throw new Error(`preStop hook ${JSON.stringify(hook)} not understood`);
}

/** How long the load balancer and the Service may still send requests to a pod that stopped being ready. */
function routingWindowMs(objects: K8sObject[], workload: K8sObject, readinessProbe: Record<string, number>): number {
  const probe = { ...DEFAULT_READINESS, ...readinessProbe };
  const windows = [probe.periodSeconds * probe.failureThreshold * 1000];
  const labels: Record<string, string> = podTemplate(workload).metadata?.labels ?? {};
  for (const policy of objects.filter((o) => o.kind === "HealthCheckPolicy")) {
    const service = objects.find((o) => o.kind === "Service" && o.metadata.name === policy.spec.targetRef.name);
    const selects = Object.entries<string>(service?.spec.selector ?? { none: "" }).every(([k, v]) => labels[k] === v);
    if (!selects) continue;
    const check = { ...DEFAULT_HEALTH_CHECK, ...policy.spec.default };
    windows.push(check.checkIntervalSec * check.unhealthyThreshold * 1000);
  }
  return Math.max(...windows);
}

const ours = (objects: K8sObject[], images: string[]) =>
  workloads(objects).flatMap((workload) =>
    podTemplate(workload)
      .spec.containers.filter((c: { image: string }) => images.includes(imageBaseName(c.image)))
      // biome-ignore lint/suspicious/noExplicitAny: container specs are read structurally
      .map((container: any) => ({ workload, container })),
  );
const environment = (objects: K8sObject[], workload: K8sObject, container: unknown) =>
  containerEnvironment(objects, workload, container, {
    clusterIP: fakeClusterIPs(objects),
    externalSecrets: GKE_EXTERNAL_SECRETS,
  });
const graceMs = (workload: K8sObject) =>
  (podTemplate(workload).spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SECONDS) * 1000;

describe.each(clusterForms())("$form", ({ objects }) => {
  test("the API keeps serving (readiness off) at least as long as it may still be sent requests", () => {
    const found = ours(objects, ["api"]);
    expect(found.length).toBeGreaterThan(0);
    for (const { workload, container } of found) {
      const config = loadApiConfig(environment(objects, workload, container));
      const pause = preStopMs(container) + config.SHUTDOWN_DELAY_MS;
      expect({ workload: workload.metadata.name, pause }).toEqual({
        workload: workload.metadata.name,
        pause: Math.max(pause, routingWindowMs(objects, workload, container.readinessProbe ?? {})),
      });
    }
  });

  test("the API's whole shutdown (pause, drain, broker close: its hard-exit timer) fits in its grace period", () => {
    for (const { workload, container } of ours(objects, ["api"])) {
      const config = loadApiConfig(environment(objects, workload, container));
      const needed = preStopMs(container) + shutdownBudgetMs(config) + KUBELET_MARGIN_MS;
      expect({ workload: workload.metadata.name, graceMs: graceMs(workload) }).toEqual({
        workload: workload.metadata.name,
        graceMs: Math.max(graceMs(workload), needed),
      });
    }
  });

  test("each consumer finishes its batch (SHUTDOWN_TIMEOUT_MS) and closes within its grace period", () => {
    const found = ours(objects, ["rabbitmq-consumer", "kafka-consumer"]);
    expect(found.length).toBeGreaterThan(0);
    for (const { workload, container } of found) {
      const config = loadConsumerConfig(environment(objects, workload, container));
      const needed = preStopMs(container) + config.SHUTDOWN_TIMEOUT_MS + CONSUMER_CLOSE_MARGIN_MS + KUBELET_MARGIN_MS;
      expect({ workload: workload.metadata.name, graceMs: graceMs(workload) }).toEqual({
        workload: workload.metadata.name,
        graceMs: Math.max(graceMs(workload), needed),
      });
    }
  });
});

test("the API's shutdown budget is the sum of its bounded steps (what main.ts waits before a hard exit)", () => {
  const defaults = loadApiConfig({});
  const longer = loadApiConfig({ SHUTDOWN_DELAY_MS: "15000", SHUTDOWN_GRACE_MS: "9000" });
  expect(shutdownBudgetMs(longer) - shutdownBudgetMs(defaults)).toBe(
    15000 - defaults.SHUTDOWN_DELAY_MS + 9000 - defaults.SHUTDOWN_GRACE_MS,
  );
  expect(shutdownBudgetMs(defaults)).toBeGreaterThan(defaults.SHUTDOWN_DELAY_MS + defaults.SHUTDOWN_GRACE_MS);
});
