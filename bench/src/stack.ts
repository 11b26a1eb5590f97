import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export type Source = "rabbitmq" | "kafka";

export interface StackSpec {
  root: string;
  logDir: string;
  apiPort: number;
  consumerBasePort: number;
  replicas: Record<Source, number>;
  /** Passed to every process: queue, topic, partitions, store URLs, group id. */
  env: Record<string, string>;
}

interface Managed {
  name: string;
  port: number;
  process: Subprocess;
}

const READY_TIMEOUT_MS = 30_000;

/**
 * The API and the consumer replicas of one phase, started from their entry points with
 * the phase's own queue, topic, group and store DBs, on ports of the bench's own.
 */
export class Stack {
  private api: Managed | undefined;
  private consumers: Managed[] = [];
  private closed = false;
  private readonly starts = new Map<string, number>();

  constructor(private readonly spec: StackSpec) {
    mkdirSync(spec.logDir, { recursive: true });
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.spec.apiPort}`;
  }

  /** The pids of the API and of each consumer kind, for CPU accounting. */
  pids(): Record<"api" | "rabbitmq-consumer" | "kafka-consumer", number[]> {
    const of = (prefix: string) => this.consumers.filter((c) => c.name.startsWith(prefix)).map((c) => c.process.pid);
    return {
      api: this.api ? [this.api.process.pid] : [],
      "rabbitmq-consumer": of("rabbitmq"),
      "kafka-consumer": of("kafka"),
    };
  }

  consumerUrls(source: Source): string[] {
    return this.consumers.filter((c) => c.name.startsWith(source)).map((c) => `http://127.0.0.1:${c.port}`);
  }

  async start(): Promise<void> {
    // Consumers first: they declare the queue and join the group before any message exists.
    await this.startConsumers();
    this.api = this.spawn("api", ["api/src/main.ts"], this.spec.apiPort, { API_PORT: String(this.spec.apiPort) });
    await waitReady(this.api);
  }

  async startConsumers(): Promise<void> {
    const started: Managed[] = [];
    let port = this.spec.consumerBasePort;
    for (const source of ["rabbitmq", "kafka"] as const) {
      for (let i = 0; i < this.spec.replicas[source]; i++) {
        const httpPort = port++;
        started.push(
          this.spawn(`${source}-consumer-${i + 1}`, ["consumers/src/main.ts"], httpPort, {
            CONSUMER_SOURCE: source,
            HTTP_PORT: String(httpPort),
            KAFKA_CLIENT_ID: `bench-${source}-consumer-${i + 1}`,
          }),
        );
      }
    }
    this.consumers = started;
    await Promise.all(started.map(waitReady));
  }

  async stopConsumers(): Promise<void> {
    await Promise.all(this.consumers.map(stop));
    this.consumers = [];
  }

  /** Stops everything; safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // API first so nothing new is published, then consumers finish their batches.
    if (this.api) await stop(this.api);
    await this.stopConsumers();
  }

  private spawn(name: string, args: string[], port: number, extraEnv: Record<string, string>): Managed {
    // A restarted replica (backlog scenario) gets a second log rather than truncating the first.
    const count = (this.starts.get(name) ?? 0) + 1;
    this.starts.set(name, count);
    const base = join(this.spec.logDir, `${name}${count > 1 ? `.${count}` : ""}`);
    const child = Bun.spawn([process.execPath, ...args], {
      cwd: this.spec.root,
      env: { ...process.env, LOG_LEVEL: "warn", ...this.spec.env, ...extraEnv },
      stdout: Bun.file(`${base}.log`),
      stderr: Bun.file(`${base}.err.log`),
    });
    return { name, port, process: child };
  }
}

async function waitReady(managed: Managed): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (managed.process.exitCode !== null) {
      throw new Error(`${managed.name} exited with code ${managed.process.exitCode} before it was ready (see its log)`);
    }
    try {
      const response = await fetch(`http://127.0.0.1:${managed.port}/readyz`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await Bun.sleep(200);
  }
  throw new Error(`${managed.name} not ready on port ${managed.port} after ${READY_TIMEOUT_MS} ms`);
}

async function stop(managed: Managed): Promise<void> {
  if (managed.process.exitCode !== null) return;
  managed.process.kill("SIGTERM");
  const exited = await Promise.race([managed.process.exited.then(() => true), Bun.sleep(12_000).then(() => false)]);
  if (!exited) managed.process.kill("SIGKILL");
}
