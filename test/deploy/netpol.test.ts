/** The NetworkPolicy evaluator itself, case by case against the semantics of the API reference. */
import { describe, expect, test } from "bun:test";
import type { K8sObject } from "./manifests.ts";
import { cidrContains, type Endpoint, evaluate, type Flow, type PodEndpoint, selectorMatches } from "./netpol.ts";

const pod = (name: string, namespace = "app", labels: Record<string, string> = { app: name }, ip?: string) =>
  ({
    kind: "pod",
    name,
    namespace,
    namespaceLabels: { "kubernetes.io/metadata.name": namespace, ...(namespace === "mon" ? { team: "ops" } : {}) },
    labels,
    ip,
    namedPorts: { http: { port: 8080, protocol: "TCP" } },
  }) satisfies PodEndpoint;
const external = (ip: string): Endpoint => ({ kind: "ip", name: ip, ip });
const flow = (from: Endpoint, to: Endpoint, port = 8080, protocol: Flow["protocol"] = "TCP"): Flow => ({
  from,
  to,
  port,
  protocol,
});
const policy = (name: string, spec: unknown, namespace = "app"): K8sObject => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace },
  spec,
});
const allowed = (policies: K8sObject[], f: Flow) => evaluate(policies, f).allowed;

const web = pod("web");
const db = pod("db");
const denyAll = policy("deny", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });

describe("NetworkPolicy evaluator", () => {
  test("no policy: everything flows; default deny: nothing does", () => {
    expect(allowed([], flow(web, db))).toBe(true);
    expect(allowed([denyAll], flow(web, db))).toBe(false);
    expect(evaluate([denyAll], flow(web, db)).reason).toContain("egress of web");
  });

  test("a flow needs both sides: egress of the source and ingress of the destination", () => {
    const dbIngress = policy("db", {
      podSelector: { matchLabels: { app: "db" } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
    });
    const webEgress = policy("web", {
      podSelector: { matchLabels: { app: "web" } },
      policyTypes: ["Egress"],
      egress: [{ to: [{ podSelector: { matchLabels: { app: "db" } } }] }],
    });
    expect(allowed([denyAll, dbIngress], flow(web, db))).toBe(false);
    expect(allowed([denyAll, webEgress], flow(web, db))).toBe(false);
    expect(allowed([denyAll, dbIngress, webEgress], flow(web, db))).toBe(true);
  });

  test("policyTypes defaults to Ingress, plus Egress when egress rules exist; egress: [] denies all", () => {
    const ingressOnly = policy("i", { podSelector: {}, ingress: [{}] });
    expect(allowed([ingressOnly], flow(web, external("8.8.8.8"), 53, "UDP"))).toBe(true);
    const withEgress = policy("e", { podSelector: {}, egress: [{ ports: [{ port: 443 }] }] });
    expect(allowed([withEgress], flow(web, external("8.8.8.8"), 53, "UDP"))).toBe(false);
    expect(allowed([withEgress], flow(web, external("8.8.8.8"), 443))).toBe(true);
    const emptyEgress = policy("none", { podSelector: {}, policyTypes: ["Egress"], egress: [] });
    expect(allowed([emptyEgress], flow(web, db))).toBe(false);
  });

  test("podSelector peers are pods of the policy's namespace only, whatever their labels elsewhere", () => {
    const p = policy("db", {
      podSelector: { matchLabels: { app: "db" } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
    });
    expect(allowed([p], flow(web, db))).toBe(true);
    expect(allowed([p], flow(pod("web", "other"), db))).toBe(false);
  });

  test("namespaceSelector alone admits every pod of matching namespaces; with podSelector, AND", () => {
    const anyInMon = policy("a", {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "ops" } } }] }],
    });
    expect(allowed([anyInMon], flow(pod("x", "mon"), db))).toBe(true);
    expect(allowed([anyInMon], flow(pod("x", "other"), db))).toBe(false);
    const and = policy("b", {
      podSelector: {},
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: "ops" } }, podSelector: { matchLabels: { app: "prom" } } },
          ],
        },
      ],
    });
    const or = policy("c", {
      podSelector: {},
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: "ops" } } },
            { podSelector: { matchLabels: { app: "prom" } } },
          ],
        },
      ],
    });
    expect(allowed([and], flow(pod("prom", "mon"), db))).toBe(true);
    expect(allowed([and], flow(pod("x", "mon"), db))).toBe(false);
    expect(allowed([and], flow(pod("prom"), db))).toBe(false);
    expect(allowed([or], flow(pod("prom"), db))).toBe(true);
    expect(allowed([or], flow(pod("x", "mon"), db))).toBe(true);
  });

  test("ipBlock: inside cidr and outside every except; selectors never match an address", () => {
    const p = policy("lb", {
      podSelector: {},
      ingress: [{ from: [{ ipBlock: { cidr: "35.191.0.0/16", except: ["35.191.9.0/24"] } }, { podSelector: {} }] }],
    });
    expect(allowed([p], flow(external("35.191.200.1"), web))).toBe(true);
    expect(allowed([p], flow(external("35.191.9.7"), web))).toBe(false);
    expect(allowed([p], flow(external("35.192.0.1"), web))).toBe(false);
    // A pod's address only counts when given (whether pod IPs match ipBlocks depends on the CNI).
    const egressAny = policy("any", {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }],
    });
    expect(allowed([egressAny], flow(web, db))).toBe(false);
    expect(allowed([egressAny], flow(web, pod("db", "app", { app: "db" }, "10.4.0.7")))).toBe(true);
  });

  test("ports: protocol TCP by default, UDP distinct, ranges with endPort, named container ports", () => {
    const p = policy("p", {
      podSelector: {},
      ingress: [
        { ports: [{ port: 53, protocol: "UDP" }, { port: 9000, endPort: 9010 }, { port: "http" }, { port: 80 }] },
      ],
    });
    expect(allowed([p], flow(web, db, 53, "UDP"))).toBe(true);
    expect(allowed([p], flow(web, db, 53, "TCP"))).toBe(false);
    expect(allowed([p], flow(web, db, 9005))).toBe(true);
    expect(allowed([p], flow(web, db, 9011))).toBe(false);
    expect(allowed([p], flow(web, db, 8080))).toBe(true);
    expect(allowed([p], flow(web, db, 80, "UDP"))).toBe(false);
  });

  test("selectors: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist), ANDed", () => {
    const labels = { app: "api", tier: "web" };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: "app", operator: "In", values: ["api", "x"] }] }, labels)).toBe(
      true,
    );
    expect(selectorMatches({ matchExpressions: [{ key: "app", operator: "NotIn", values: ["api"] }] }, labels)).toBe(
      false,
    );
    expect(selectorMatches({ matchExpressions: [{ key: "zone", operator: "DoesNotExist" }] }, labels)).toBe(true);
    expect(
      selectorMatches({ matchLabels: { tier: "web" }, matchExpressions: [{ key: "app", operator: "Exists" }] }, labels),
    ).toBe(true);
    expect(
      selectorMatches({ matchLabels: { tier: "db" }, matchExpressions: [{ key: "app", operator: "Exists" }] }, labels),
    ).toBe(false);
  });

  test("CIDR arithmetic, and what it refuses to guess", () => {
    expect(cidrContains("130.211.0.0/22", "130.211.3.255")).toBe(true);
    expect(cidrContains("130.211.0.0/22", "130.211.4.0")).toBe(false);
    expect(cidrContains("0.0.0.0/0", "203.0.113.9")).toBe(true);
    expect(cidrContains("169.254.169.254/32", "169.254.169.254")).toBe(true);
    expect(() => cidrContains("2600:2d00::/64", "10.0.0.1")).toThrow("not supported");
    const noNamespace = { ...policy("x", { podSelector: {} }), metadata: { name: "x" } };
    expect(() => evaluate([noNamespace], flow(web, db))).toThrow("without a namespace");
  });
});
