/**
 * Every store persists each count before it answers (append-only file, fsync always): the consumer
 * acknowledges or commits once the store answered, so a count the store could still lose would be
 * lost for good. And every store's memory settings follow the one formula (packages/store/src/sizing.ts, explained in
 * docs/consumers.md "Store memory"): maxmemory covers the dedup window at the rate the deployment
 * says it is sized for, the memory limit covers maxmemory with room for an AOF rewrite's fork, and
 * nothing is ever evicted. Native (.env.example), compose, kind and GKE.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseMemory, requiredMaxmemoryBytes, requiredMemoryLimitBytes, type StoreServer } from "@weather/store";
import { parse } from "yaml";
import { ConsumerConfig } from "../../consumers/src/config.ts";
import { clusterForms, find, type K8sObject, podTemplate, ROOT } from "./manifests.ts";

const SERVERS: StoreServer[] = ["valkey", "redis"];
const CONSUMER_OF: Record<StoreServer, string> = { valkey: "rabbitmq-consumer", redis: "kafka-consumer" };
const DEFAULT_WINDOW_S = ConsumerConfig.properties.DEDUP_WINDOW_SECONDS.default as number;

/** The value following `flag` in a server's command line. */
function flagValue(args: string[], flag: string): string {
  const at = args.indexOf(flag);
  if (at === -1 || at + 1 >= args.length) throw new Error(`${flag} not set in ${JSON.stringify(args)}`);
  return args[at + 1] as string;
}

interface Sizing {
  where: string;
  server: StoreServer;
  ratePerS: number;
  windowS: number;
  maxmemory: string;
  policy: string;
  /** The container's memory limit; none natively (the machine is the limit). */
  limit?: string;
}

function check({ where, server, ratePerS, windowS, maxmemory, policy, limit }: Sizing) {
  const needed = requiredMaxmemoryBytes(ratePerS, windowS, server);
  const label = `${where} ${server} (sized for ${ratePerS} msg/s, window ${windowS} s)`;
  expect({ label, policy }).toEqual({ label, policy: "noeviction" });
  expect({ label, maxmemoryCoversTheWindow: parseMemory(maxmemory) >= needed }).toEqual({
    label,
    maxmemoryCoversTheWindow: true,
  });
  if (limit !== undefined) {
    expect({
      label,
      limitCoversMaxmemory: parseMemory(limit) >= requiredMemoryLimitBytes(parseMemory(maxmemory)),
    }).toEqual({
      label,
      limitCoversMaxmemory: true,
    });
  }
}

describe("store memory follows the formula", () => {
  test("native: .env.example's STORE_MAXMEMORY for its STORE_SIZED_FOR_RATE", () => {
    const env = Object.fromEntries(
      readFileSync(join(ROOT, ".env.example"), "utf8")
        .split("\n")
        .map((line) => /^([A-Z0-9_]+)=(.*)$/.exec(line))
        .filter((m) => m !== null)
        .map((m) => [m[1], m[2]]),
    );
    const services = readFileSync(join(ROOT, "scripts/services.sh"), "utf8");
    expect(services).toContain("maxmemory $STORE_MAXMEMORY");
    for (const server of SERVERS) {
      check({
        where: "native",
        server,
        ratePerS: Number(env.STORE_SIZED_FOR_RATE),
        windowS: DEFAULT_WINDOW_S,
        maxmemory: env.STORE_MAXMEMORY as string,
        policy: /maxmemory-policy (\S+)/.exec(services)?.[1] ?? "unset",
      });
    }
  });

  test("compose: command, label and mem_limit of each store", () => {
    const compose = parse(readFileSync(join(ROOT, "compose.yaml"), "utf8"), { merge: true });
    for (const server of SERVERS) {
      const service = compose.services[server];
      const window = compose.services[CONSUMER_OF[server]].environment?.DEDUP_WINDOW_SECONDS;
      check({
        where: "compose",
        server,
        ratePerS: Number(service.labels["weather-tweets.sized-for-messages-per-second"]),
        windowS: window === undefined ? DEFAULT_WINDOW_S : Number(window),
        maxmemory: flagValue(service.command, "--maxmemory"),
        policy: flagValue(service.command, "--maxmemory-policy"),
        limit: service.mem_limit,
      });
    }
  });

  describe.each(clusterForms())("$form", ({ form, objects }) => {
    test("args, annotation and memory limit of each store's StatefulSet", () => {
      for (const server of SERVERS) {
        const statefulSet: K8sObject = find(objects, "StatefulSet", server);
        const container = podTemplate(statefulSet).spec.containers[0];
        const consumer = podTemplate(find(objects, "Deployment", CONSUMER_OF[server])).spec.containers[0];
        const window = (consumer.env ?? []).find((e: { name: string }) => e.name === "DEDUP_WINDOW_SECONDS")?.value;
        check({
          where: form,
          server,
          ratePerS: Number(statefulSet.metadata.annotations?.["weather-tweets/sized-for-messages-per-second"]),
          windowS: window === undefined ? DEFAULT_WINDOW_S : Number(window),
          maxmemory: flagValue(container.args, "--maxmemory"),
          policy: flagValue(container.args, "--maxmemory-policy"),
          limit: container.resources.limits.memory,
        });
      }
    });
  });
});

describe("stores write each count to disk before answering", () => {
  const durable = { appendonly: "yes", appendfsync: "always" };

  test("native: the server configuration scripts/services.sh writes", () => {
    const services = readFileSync(join(ROOT, "scripts/services.sh"), "utf8");
    expect({
      appendonly: /^appendonly (\S+)$/m.exec(services)?.[1],
      appendfsync: /^appendfsync (\S+)$/m.exec(services)?.[1],
    }).toEqual(durable);
  });

  test("compose: each store's command", () => {
    const compose = parse(readFileSync(join(ROOT, "compose.yaml"), "utf8"), { merge: true });
    for (const server of SERVERS) {
      const { command } = compose.services[server];
      expect({
        server,
        appendonly: flagValue(command, "--appendonly"),
        appendfsync: flagValue(command, "--appendfsync"),
      }).toEqual({
        server,
        ...durable,
      });
    }
  });

  describe.each(clusterForms())("$form", ({ objects }) => {
    test("each store's args", () => {
      for (const server of SERVERS) {
        const { args } = podTemplate(find(objects, "StatefulSet", server)).spec.containers[0];
        expect({
          server,
          appendonly: flagValue(args, "--appendonly"),
          appendfsync: flagValue(args, "--appendfsync"),
        }).toEqual({
          server,
          ...durable,
        });
      }
    });
  });
});
