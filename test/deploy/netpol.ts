/**
 * A small evaluator of Kubernetes NetworkPolicy (networking.k8s.io/v1) semantics: is a flow from one
 * endpoint to another allowed by a set of policies? No maintained analyser is reachable here (the Go
 * proxy serves neither policy-assistant nor np-guard; PyPI's kube-netpol ignores namespaceSelector
 * labels), so this implements the rules of the API reference for the features in use:
 *  - a pod is isolated for ingress (egress) when some policy of its namespace selects it with
 *    Ingress (Egress) in its policyTypes; policyTypes defaults to Ingress, plus Egress when the
 *    policy has egress rules;
 *  - an isolated pod admits a flow when some rule of some selecting policy matches both a peer and
 *    a port; rules and policies are additive; a flow needs the egress side AND the ingress side;
 *  - peers: podSelector (the policy's namespace), namespaceSelector (any pod of matching namespaces),
 *    both (AND), ipBlock (cidr minus except); a rule without peers admits every peer, without ports
 *    every port; ports: protocol (TCP by default), number or named container port, endPort.
 * Anything else it meets (IPv6, SCTP named ports...) throws rather than guessing.
 */
import type { K8sObject } from "./manifests.ts";

export type Labels = Record<string, string>;
export type Protocol = "TCP" | "UDP" | "SCTP";

export interface PodEndpoint {
  kind: "pod";
  name: string;
  namespace: string;
  namespaceLabels: Labels;
  labels: Labels;
  /** The pod's IP, when ipBlock peers should be considered for it (CNI-dependent for pod IPs). */
  ip?: string;
  /** Named container ports, for policies that name ports. */
  namedPorts?: Record<string, { port: number; protocol: Protocol }>;
}
export interface IpEndpoint {
  kind: "ip";
  name: string;
  ip: string;
}
export type Endpoint = PodEndpoint | IpEndpoint;

export interface Flow {
  from: Endpoint;
  to: Endpoint;
  protocol: Protocol;
  port: number;
}

export interface Verdict {
  allowed: boolean;
  /** Which side denied it, or the policies that allowed it. */
  reason: string;
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: "In" | "NotIn" | "Exists" | "DoesNotExist"; values?: string[] }[];
}

/** An empty selector selects everything; matchLabels and matchExpressions are ANDed. */
export function selectorMatches(selector: LabelSelector, labels: Labels): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = key in labels;
    const ok =
      operator === "In"
        ? has && values.includes(labels[key] as string)
        : operator === "NotIn"
          ? !has || !values.includes(labels[key] as string)
          : operator === "Exists"
            ? has
            : operator === "DoesNotExist"
              ? !has
              : unsupported(`selector operator ${operator}`);
    if (!ok) return false;
  }
  return true;
}

function unsupported(what: string): never {
  throw new Error(`NetworkPolicy evaluator: ${what} is not supported`);
}

function ipv4ToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) unsupported(`address ${ip} (IPv4 only)`);
  return parts.reduce((n, part) => {
    const byte = Number(part);
    if (!Number.isInteger(byte) || byte < 0 || byte > 255) unsupported(`address ${ip}`);
    return n * 256 + byte;
  }, 0);
}

/** Whether an IPv4 address lies in a CIDR block. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base = "", bits = "32"] = cidr.split("/");
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) unsupported(`CIDR ${cidr}`);
  const size = 2 ** (32 - prefix);
  const start = Math.floor(ipv4ToInt(base) / size) * size;
  const address = ipv4ToInt(ip);
  return address >= start && address < start + size;
}

// biome-ignore lint/suspicious/noExplicitAny: policy peers are read structurally
function peerMatches(peer: any, policyNamespace: string, endpoint: Endpoint): boolean {
  if (peer.ipBlock) {
    const ip = endpoint.kind === "ip" ? endpoint.ip : endpoint.ip;
    if (ip === undefined) return false;
    return cidrContains(peer.ipBlock.cidr, ip) && !(peer.ipBlock.except ?? []).some((e: string) => cidrContains(e, ip));
  }
  if (endpoint.kind !== "pod") return false; // selectors only ever select pods
  if (peer.namespaceSelector) {
    if (!selectorMatches(peer.namespaceSelector, endpoint.namespaceLabels)) return false;
    return peer.podSelector ? selectorMatches(peer.podSelector, endpoint.labels) : true;
  }
  if (peer.podSelector) {
    return endpoint.namespace === policyNamespace && selectorMatches(peer.podSelector, endpoint.labels);
  }
  return unsupported(`peer ${JSON.stringify(peer)}`);
}

// biome-ignore lint/suspicious/noExplicitAny: policy ports are read structurally
function portMatches(ports: any[] | undefined, flow: Flow): boolean {
  if (!ports || ports.length === 0) return true;
  return ports.some((p) => {
    if ((p.protocol ?? "TCP") !== flow.protocol) return false;
    if (p.port === undefined) return true;
    if (typeof p.port === "string") {
      const named = flow.to.kind === "pod" ? flow.to.namedPorts?.[p.port] : undefined;
      return named !== undefined && named.port === flow.port && named.protocol === flow.protocol;
    }
    return p.endPort === undefined ? p.port === flow.port : flow.port >= p.port && flow.port <= p.endPort;
  });
}

function policyTypes(policy: K8sObject): string[] {
  return policy.spec.policyTypes ?? (policy.spec.egress ? ["Ingress", "Egress"] : ["Ingress"]);
}

/** One side of a flow: may `pod` send (egress) or receive (ingress) it? */
function side(policies: K8sObject[], pod: Endpoint, direction: "Ingress" | "Egress", flow: Flow) {
  if (pod.kind !== "pod") return { allowed: true, by: "not a pod" };
  const selecting = policies.filter((policy) => {
    const namespace = policy.metadata.namespace;
    if (!namespace) unsupported(`NetworkPolicy ${policy.metadata.name} without a namespace`);
    return (
      namespace === pod.namespace &&
      selectorMatches(policy.spec.podSelector ?? {}, pod.labels) &&
      policyTypes(policy).includes(direction)
    );
  });
  if (selecting.length === 0) return { allowed: true, by: `${pod.name} not isolated for ${direction}` };
  const peer = direction === "Ingress" ? flow.from : flow.to;
  const allowing = selecting.filter((policy) =>
    (direction === "Ingress" ? policy.spec.ingress : policy.spec.egress)?.some(
      // biome-ignore lint/suspicious/noExplicitAny: rules are read structurally
      (rule: any) => {
        const peers = direction === "Ingress" ? rule.from : rule.to;
        const namespace = policy.metadata.namespace as string;
        const peerOk = !peers || peers.length === 0 || peers.some((p: unknown) => peerMatches(p, namespace, peer));
        return peerOk && portMatches(rule.ports, flow);
      },
    ),
  );
  return allowing.length > 0
    ? { allowed: true, by: allowing.map((p) => p.metadata.name).join("+") }
    : {
        allowed: false,
        by: `${direction.toLowerCase()} of ${pod.name} (${selecting.map((p) => p.metadata.name).join(", ")})`,
      };
}

export function evaluate(policies: K8sObject[], flow: Flow): Verdict {
  const egress = side(policies, flow.from, "Egress", flow);
  const ingress = side(policies, flow.to, "Ingress", flow);
  if (!egress.allowed) return { allowed: false, reason: `denied by the ${egress.by}` };
  if (!ingress.allowed) return { allowed: false, reason: `denied by the ${ingress.by}` };
  return { allowed: true, reason: `egress: ${egress.by}; ingress: ${ingress.by}` };
}

export const describeFlow = (f: Flow) => `${f.from.name} -> ${f.to.name} ${f.protocol}/${f.port}`;
