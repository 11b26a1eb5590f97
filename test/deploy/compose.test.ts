/**
 * compose.yaml: valid against the Compose specification's JSON schema (the copy dclint ships),
 * free of dclint's correctness errors, and shaped as the issue asks: every service, healthy
 * dependencies, named volumes, loopback-only ports, Locust behind the `load` profile.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import Ajv from "ajv";
import { DCLinter } from "dclint";
import { parse } from "yaml";
import { rabbitmqUrls } from "../../packages/brokers/src/index.ts";
import { DEPLOYABLES, ROOT } from "./manifests.ts";

const HA_NODES = ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "kafka-1", "kafka-2", "kafka-3"];

const COMPOSE_FILE = join(ROOT, "compose.yaml");
// biome-ignore lint/suspicious/noExplicitAny: the compose model is read structurally
const compose: any = parse(readFileSync(COMPOSE_FILE, "utf8"), { merge: true }); // << merge keys, as Compose reads them
// dclint keeps the Compose specification schema current; its package exports do not list the file.
const schemaPath = join(ROOT, "node_modules/dclint/schemas/compose.schema.json");
const composeSchema = JSON.parse(readFileSync(schemaPath, "utf8"));
// The file names draft-07 by its https URL; Ajv registers the draft under its canonical http id.
composeSchema.$schema = "http://json-schema.org/draft-07/schema#";
const validateCompose = new Ajv({ allErrors: true, strict: false }).compile(composeSchema);

describe("compose.yaml", () => {
  test("the schema validator rejects what the specification forbids", () => {
    expect(validateCompose({ services: { api: { image: "x", restart_policy: "always" } } })).toBe(false);
    expect(validateCompose({ services: { api: { image: "x", depends_on: { db: { condition: "later" } } } } })).toBe(
      false,
    );
    expect(validateCompose({ services: { api: { image: "x" } } })).toBe(true);
  });

  test("validates against the Compose specification schema", () => {
    const valid = validateCompose(compose);
    expect(valid ? [] : validateCompose.errors).toEqual([]);
  });

  test("dclint finds no correctness problem (ordering rules off: style only)", () => {
    const linter = new DCLinter({
      rules: {
        "service-keys-order": 0,
        "services-alphabetical-order": 0,
        "top-level-properties-order": 0,
        "service-dependencies-alphabetical-order": 0,
        "service-ports-alphabetical-order": 0,
        "require-project-name-field": 2,
        "require-quotes-in-ports": [2, { quoteType: "double" }],
        "no-unbound-port-interfaces": 2,
        "service-image-require-explicit-tag": 2,
      },
      quiet: false,
      debug: false,
      exclude: [],
    });
    const messages = linter.lintFiles([COMPOSE_FILE], false).flatMap((r) => r.messages);
    expect(messages.map((m) => `${m.line}: ${m.message}`)).toEqual([]);
  });

  test("runs every service of the system, Locust only under the load profile, the HA topology under ha", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        "rabbitmq",
        "kafka",
        "valkey",
        "redis",
        ...DEPLOYABLES,
        "prometheus",
        "grafana",
        "locust",
        ...HA_NODES,
        ...DEPLOYABLES.map((name) => `${name}-ha`),
      ].sort(),
    );
    for (const [name, service] of Object.entries<{ profiles?: string[] }>(compose.services)) {
      const profile = name === "locust" ? ["load"] : name.match(/-(ha|\d)$/) ? ["ha"] : undefined;
      expect([name, service.profiles]).toEqual([name, profile]);
    }
    expect(compose.services["rabbitmq-consumer"].deploy.replicas).toBe(2);
  });

  test("profile ha: three RabbitMQ nodes and three KRaft brokers of the single nodes' images, one cluster each", () => {
    const node = (name: string) => compose.services[name];
    for (const i of [1, 2, 3]) {
      expect(node(`rabbitmq-${i}`).image).toBe(node("rabbitmq").image);
      expect(node(`rabbitmq-${i}`).hostname).toBe(`rabbitmq-${i}`);
      expect(node(`kafka-${i}`).image).toBe(node("kafka").image);
      const kafka = node(`kafka-${i}`).environment;
      expect(kafka.KAFKA_NODE_ID).toBe(i);
      expect(kafka.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe("1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093");
      expect(kafka.KAFKA_ADVERTISED_LISTENERS).toBe(`PLAINTEXT://kafka-${i}:9092`);
      expect([kafka.KAFKA_DEFAULT_REPLICATION_FACTOR, kafka.KAFKA_MIN_INSYNC_REPLICAS]).toEqual([3, 2]);
      // Every node the same cookie, Khepri on, and the peer list (rabbit@rabbitmq-1..3) mounted.
      const rabbit = node(`rabbitmq-${i}`);
      expect(rabbit.environment.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS).toBe(
        node("rabbitmq-1").environment.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS,
      );
      expect(rabbit.environment.RABBITMQ_FEATURE_FLAGS).toContain("khepri_db");
      expect(rabbit.volumes).toContain("./compose/ha/rabbitmq-cluster.conf:/etc/rabbitmq/conf.d/20-cluster.conf:ro");
    }
    const peers = readFileSync(join(ROOT, "compose/ha/rabbitmq-cluster.conf"), "utf8");
    for (const i of [1, 2, 3]) expect(peers).toContain(`rabbit@rabbitmq-${i}\n`);
  });

  test("profile ha: the services are the single ones, given every node, three copies, and only the HA brokers", () => {
    const brokersOf: Record<string, string[]> = {
      api: ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "kafka-1", "kafka-2", "kafka-3"],
      "rabbitmq-consumer": ["rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "valkey"],
      "kafka-consumer": ["kafka-1", "kafka-2", "kafka-3", "redis"],
    };
    for (const name of DEPLOYABLES) {
      const ha = compose.services[`${name}-ha`];
      expect(ha.extends).toBe(name);
      expect(Object.keys(ha.depends_on).sort()).toEqual([...(brokersOf[name] ?? [])].sort());
      // Prometheus scrapes them under the single services' names.
      expect(ha.networks.default.aliases).toEqual([name]);
      const env = ha.environment;
      if (env.RABBITMQ_URL) {
        expect(rabbitmqUrls(env.RABBITMQ_URL).map((url) => new URL(url.replace(/\$\{[^}]*\}/g, "x")).host)).toEqual([
          "rabbitmq-1:5672",
          "rabbitmq-2:5672",
          "rabbitmq-3:5672",
        ]);
        expect(env.RABBITMQ_QUORUM_GROUP_SIZE).toBe("3");
      }
      if (env.KAFKA_BROKERS) {
        expect(env.KAFKA_BROKERS).toBe("kafka-1:9092,kafka-2:9092,kafka-3:9092");
        expect(env.KAFKA_REPLICATION_FACTOR).toBe("3");
      }
    }
  });

  test("uses the official broker and store images, pinned", () => {
    const images = Object.fromEntries(
      Object.entries<{ image: string }>(compose.services).map(([name, s]) => [name, s.image]),
    );
    expect(images.rabbitmq).toMatch(/^rabbitmq:[\d.]+-management$/);
    expect(images.kafka).toMatch(/^apache\/kafka:[\d.]+$/);
    expect(images.valkey).toMatch(/^valkey\/valkey:8(\.|$)/);
    expect(images.redis).toMatch(/^redis:[\d.]+$/);
  });

  test("builds the three images from the Dockerfile targets named after them", () => {
    for (const name of DEPLOYABLES) {
      const service = compose.services[name];
      expect(service.build).toEqual({ context: ".", target: name });
      expect(service.image).toMatch(new RegExp(`/${name}:`));
    }
  });

  test("dependencies wait for health, and every dependency has a health check", () => {
    const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
    const problems: string[] = [];
    for (const [name, service] of Object.entries<{ depends_on?: Record<string, { condition: string }> }>(
      compose.services,
    )) {
      for (const [dependency, spec] of Object.entries(service.depends_on ?? {})) {
        if (spec.condition !== "service_healthy") problems.push(`${name} -> ${dependency}: ${spec.condition}`);
        const target = compose.services[dependency];
        // Services built here inherit the HEALTHCHECK of their Dockerfile target.
        const imageCheck = target.build && /HEALTHCHECK/.test(dockerfile);
        if (!target.healthcheck && !imageCheck) problems.push(`${dependency}: no health check`);
      }
    }
    expect(problems).toEqual([]);
    expect(Object.keys(compose.services.api.depends_on).sort()).toEqual(["kafka", "rabbitmq"]);
  });

  test("publishes ports on 127.0.0.1 only", () => {
    const ports = Object.values<{ ports?: string[] }>(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  test("brokers, stores and metrics keep their data in named volumes; bind mounts exist", () => {
    const declared = Object.keys(compose.volumes);
    for (const name of ["rabbitmq", "kafka", "valkey", "redis", "prometheus", "grafana"]) {
      const volumes: string[] = compose.services[name].volumes;
      expect(volumes.some((v) => declared.includes(v.split(":")[0] ?? ""))).toBe(true);
    }
    const binds = Object.values<{ volumes?: string[] }>(compose.services)
      .flatMap((s) => s.volumes ?? [])
      .map((v) => v.split(":")[0] ?? "")
      .filter((source) => source.startsWith("./"));
    expect(binds.length).toBeGreaterThan(0);
    for (const source of binds) expect(existsSync(join(ROOT, source)) ? source : `missing ${source}`).toBe(source);
  });
});
