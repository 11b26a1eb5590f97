import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { settleWithin, waitFor } from "@weather/async";
import type { Subprocess } from "bun";
import { childrenOf } from "./proc.ts";
import type { WatchedProcess } from "./resources.ts";

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
/** SIGTERM, then this long to finish the batch in hand (the consumers' own budget is 8 s), then SIGKILL. */
const STOP_GRACE_MS = 12_000;

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

  consumerUrls(source: Source): string[] {
    return this.consumers.filter((c) => c.name.startsWith(source)).map((c) => `http://127.0.0.1:${c.port}`);
  }

  /** The running API and consumer replicas, for CPU and memory accounting. */
  processes(): WatchedProcess[] {
    const managed = [...(this.api ? [this.api] : []), ...this.consumers];
    const watched = managed
      .filter(running)
      .map((m): WatchedProcess => ({ name: m.name, role: m === this.api ? "api" : "consumer", pid: m.process.pid }));
    // API_PROCESSES > 1: the API's primary only supervises; its workers serve.
    const workers = this.api && running(this.api) ? childrenOf(this.api.process.pid) : [];
    workers.forEach((pid, i) => void watched.push({ name: `api-worker-${i + 1}`, role: "api", pid }));
    return watched;
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
  const state = await waitFor(
    `${managed.name} ready on port ${managed.port}`,
    async () => {
      // A process that exited will never be ready: stop waiting at once.
      if (!running(managed)) return "exited";
      return (await fetch(`http://127.0.0.1:${managed.port}/readyz`)).ok && "ready";
    },
    { timeoutMs: READY_TIMEOUT_MS, intervalMs: 200 },
  );
  if (state === "exited") {
    throw new Error(
      `${managed.name} exited (${managed.process.exitCode ?? managed.process.signalCode}) before it was ready (see its log)`,
    );
  }
}

/** Neither exited nor killed by a signal (a signalled process has no exit code). */
const running = (managed: Managed) => managed.process.exitCode === null && managed.process.signalCode === null;

async function stop(managed: Managed): Promise<void> {
  if (!running(managed)) return;
  managed.process.kill("SIGTERM");
  if ((await settleWithin(managed.process.exited, STOP_GRACE_MS)) === "timeout") managed.process.kill("SIGKILL");
}
