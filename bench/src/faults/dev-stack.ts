import { join } from "node:path";

export type ConsumerKind = "rabbitmq" | "kafka";
/** A node of the HA topology (scripts/ha/services.sh): rabbitmq-ha-1 ... kafka-ha-3. */
export type HaNode = `${"rabbitmq" | "kafka"}-ha-${1 | 2 | 3}`;
export type Server = "rabbitmq" | "kafka" | "valkey" | "redis" | HaNode;

export interface DevStackOptions {
  root: string;
  /** Pid files and logs of this stack (scripts/dev.sh DEV_DIR). */
  dir: string;
  apiPort: number;
  /** Replica i of the RabbitMQ consumer listens on rabbitmqPort + i, of the Kafka one on kafkaPort + i. */
  rabbitmqPort: number;
  kafkaPort: number;
  replicas: Record<ConsumerKind, number>;
  /** Queue, topic, group, store URLs and any setting the processes should get. */
  env: Record<string, string>;
}

/**
 * The application as `make dev` runs it (scripts/dev.sh: every process under a supervisor that
 * restarts it, as compose and Kubernetes do), on ports and names of its own, plus the native
 * servers (scripts/services.sh). The fault suite drives both through these scripts only, so what
 * it shows is what a user of `make dev` gets.
 */
export class DevStack {
  readonly replicas: Record<ConsumerKind, number>;

  constructor(private readonly options: DevStackOptions) {
    this.replicas = { ...options.replicas };
  }

  get apiUrl(): string {
    return `http://127.0.0.1:${this.options.apiPort}`;
  }

  /** The queue and topic this stack's services use. */
  get queue(): string {
    return this.options.env.RABBITMQ_QUEUE ?? "message";
  }
  get topic(): string {
    return this.options.env.KAFKA_TOPIC ?? "message";
  }

  /** Every process's /readyz, the API's first. */
  readyUrls(): string[] {
    const urls = [`${this.apiUrl}/readyz`];
    for (const [kind, base] of [
      ["rabbitmq", this.options.rabbitmqPort],
      ["kafka", this.options.kafkaPort],
    ] as const) {
      for (let i = 0; i < this.replicas[kind]; i++) urls.push(`http://127.0.0.1:${base + i}/readyz`);
    }
    return urls;
  }

  /** True when the API and every consumer replica answer /readyz with 200. */
  async allReady(): Promise<boolean> {
    const answers = await Promise.all(
      this.readyUrls().map((url) =>
        fetch(url, { signal: AbortSignal.timeout(1000) }).then(
          (r) => r.status === 200,
          () => false,
        ),
      ),
    );
    return answers.every(Boolean);
  }

  up(): Promise<string> {
    return this.#dev("up");
  }

  down(): Promise<string> {
    return this.#dev("down");
  }

  stopConsumers(): Promise<string> {
    return this.#dev("stop-consumers");
  }

  startConsumers(): Promise<string> {
    return this.#dev("start-consumers");
  }

  async scale(kind: ConsumerKind, count: number): Promise<void> {
    this.replicas[kind] = count;
    await this.#dev("scale", kind, String(count));
  }

  /** The pid of a supervised process: "api", "rabbitmq-consumer-0", ... */
  async pid(name: string): Promise<number> {
    return Number((await this.#dev("pid", name)).trim());
  }

  /** Signals a native server's whole process group (scripts/services.sh kill). */
  killServer(server: Server, signal: "KILL" | "TERM" = "KILL"): Promise<string> {
    return this.#run(["bash", "scripts/services.sh", "kill", server, signal]);
  }

  /** Starts a native server again (the platform's restart), waiting for it to be ready (an HA node: its cluster whole). */
  startServer(server: Server): Promise<string> {
    return this.#run(["bash", "scripts/services.sh", "up", server]);
  }

  /** Cuts an HA node off the network: its process keeps running, its packets are dropped (scripts/ha/netcut.sh). */
  cutServer(node: HaNode): Promise<string> {
    return this.#run(["bash", "scripts/services.sh", "cut", node]);
  }

  /** Ends a cut (every cut of this checkout when no node is named). */
  healServer(node?: HaNode): Promise<string> {
    return this.#run(["bash", "scripts/services.sh", "heal", ...(node ? [node] : [])]);
  }

  #dev(...args: string[]): Promise<string> {
    return this.#run(["bash", "scripts/dev.sh", ...args]);
  }

  async #run(command: string[]): Promise<string> {
    const { options } = this;
    const proc = Bun.spawn(command, {
      cwd: options.root,
      env: {
        ...process.env,
        ...options.env,
        DEV_DIR: options.dir,
        API_PORT: String(options.apiPort),
        RABBITMQ_CONSUMER_PORT: String(options.rabbitmqPort),
        KAFKA_CONSUMER_PORT: String(options.kafkaPort),
        RABBITMQ_CONSUMER_REPLICAS: String(this.replicas.rabbitmq),
        KAFKA_CONSUMER_REPLICAS: String(this.replicas.kafka),
      },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ]);
    if (code !== 0) throw new Error(`${command.join(" ")} exited with ${code}:\n${err || out}`);
    return out;
  }

  logOf(name: string): string {
    return join(this.options.dir, `${name}.log`);
  }
}
