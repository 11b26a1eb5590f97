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
import { DEPLOYABLES, ROOT } from "./manifests.ts";

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

  test("runs every service of the system, Locust only under the load profile", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["rabbitmq", "kafka", "valkey", "redis", ...DEPLOYABLES, "prometheus", "grafana", "locust"].sort(),
    );
    for (const [name, service] of Object.entries<{ profiles?: string[] }>(compose.services)) {
      expect([name, service.profiles]).toEqual([name, name === "locust" ? ["load"] : undefined]);
    }
    expect(compose.services["rabbitmq-consumer"].deploy.replicas).toBe(2);
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
