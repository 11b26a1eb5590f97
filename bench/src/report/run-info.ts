import { readdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import Valkey from "iovalkey";
import { ApiConfig } from "../../../api/src/config.ts";
import { ConsumerConfig } from "../../../consumers/src/config.ts";
import type { BenchConfig } from "../config.ts";

export interface RunInfo {
  runId: string;
  startedAt: string;
  config: Readonly<BenchConfig>;
  /** The API's and consumers' own settings given in the environment, where not their defaults (e.g. API_PROCESSES=2). */
  serviceSettings: Record<string, string>;
  versions: Record<string, string>;
  gitCommit: string;
  machine: { cpus: number; cpuModel: string; loadAverage: number[] };
}

async function command(args: string[], cwd?: string): Promise<string> {
  try {
    const child = Bun.spawn(args, { cwd, stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    await child.exited;
    return (out.trim() || err.trim()).split("\n")[0] ?? "unknown";
  } catch {
    return "unavailable";
  }
}

async function serverVersion(url: string, field: string): Promise<string> {
  const client = new Valkey(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const info = await client.info("server");
    return info.match(new RegExp(`^${field}:(.*)$`, "m"))?.[1]?.trim() ?? "unknown";
  } catch {
    return "unavailable";
  } finally {
    client.disconnect();
  }
}

async function rabbitVersion(): Promise<string> {
  const port = process.env.RABBITMQ_MANAGEMENT_PORT ?? "15672";
  try {
    const response = await fetch(`http://127.0.0.1:${port}/api/overview`, {
      headers: { authorization: `Basic ${btoa("guest:guest")}` },
    });
    return ((await response.json()) as { rabbitmq_version?: string }).rabbitmq_version ?? "unknown";
  } catch {
    return "unavailable";
  }
}

function kafkaVersion(root: string): string {
  try {
    const jar = readdirSync(join(root, ".state/kafka/libs")).find((name) => /^kafka-clients-.*\.jar$/.test(name));
    return jar?.replace(/^kafka-clients-|\.jar$/g, "") ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** The exact configuration and versions a report was measured with. */
export async function collectRunInfo(root: string, runId: string, config: Readonly<BenchConfig>): Promise<RunInfo> {
  const [vegeta, locust, gitCommit, rabbitmq, valkey, redis] = await Promise.all([
    Bun.file(join(root, `${config.VEGETA_BIN}.version`))
      .text()
      .then((text) => text.trim())
      .catch(() => "unknown"),
    command([join(root, config.LOCUST_BIN), "--version"]),
    command(["git", "rev-parse", "--short", "HEAD"], root),
    rabbitVersion(),
    serverVersion(config.VALKEY_URL, "valkey_version"),
    serverVersion(config.REDIS_URL, "redis_version"),
  ]);
  const cpuList = cpus();
  return {
    runId,
    startedAt: new Date().toISOString(),
    config,
    serviceSettings: serviceSettings(process.env),
    versions: { bun: Bun.version, vegeta, locust, rabbitmq, kafka: kafkaVersion(root), valkey, redis },
    gitCommit,
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? "unknown",
      loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    },
  };
}

/**
 * What a run changed of the services' settings through the environment (`API_PROCESSES=2 make bench`),
 * so that two reports say what they differ in. Addresses, queue and topic names are the bench's own.
 */
export function serviceSettings(env: Record<string, string | undefined>): Record<string, string> {
  const schemas = [ApiConfig.properties, ConsumerConfig.properties] as Record<string, { default?: unknown }>[];
  const settings: Record<string, string> = {};
  for (const properties of schemas) {
    for (const [key, schema] of Object.entries(properties)) {
      const value = env[key];
      if (value === undefined || /_(URL|BROKERS|QUEUE|TOPIC|GROUP_ID|PORT|HOST)$/.test(key)) continue;
      if (schema.default !== undefined && String(schema.default) === value) continue;
      settings[key] = value;
    }
  }
  return settings;
}
