import { freePort, uniqueName, waitFor } from "../../../test/support/index.ts";
import { deleteTestResources } from "./brokers.ts";

const MAIN = `${import.meta.dir}/../../src/main.ts`;

export interface SpawnedApi {
  /** http://127.0.0.1:<port> */
  base: string;
  port: number;
  pid: number;
  /** The process's exit code, once it has exited. */
  exited: Promise<number>;
  queue: string;
  topic: string;
  /** The API's log lines (JSON) so far. */
  logs: string[];
  /** SIGTERM, wait for the exit, delete the queue and topic. */
  stop(): Promise<void>;
}

/**
 * The API as a client meets it: `bun api/src/main.ts` on a free loopback port, on the
 * real brokers of the stack's .env, with a queue and a topic of its own (so that exact
 * counts of other tests are never disturbed).
 */
export async function spawnApi(env: Record<string, string> = {}): Promise<SpawnedApi> {
  const queue = uniqueName("api-it");
  const port = freePort();
  const child = Bun.spawn([process.execPath, MAIN], {
    env: {
      ...process.env,
      API_PORT: String(port),
      API_HOST: "127.0.0.1",
      RABBITMQ_QUEUE: queue,
      KAFKA_TOPIC: queue,
      LOG_LEVEL: "warn",
      ...env,
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const logs: string[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    const reader = child.stdout.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const lines = (pending + decoder.decode(read.value, { stream: true })).split("\n");
      pending = lines.pop() ?? "";
      logs.push(...lines);
    }
  })();
  const base = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.kill("SIGTERM");
    await child.exited;
    await deleteTestResources(queue, queue);
  };
  try {
    await waitFor(
      "the API to be ready",
      async () => {
        if (child.exitCode !== null) throw new Error(`the API exited with ${child.exitCode}: ${logs.join("\n")}`);
        return (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200;
      },
      { timeoutMs: 30_000 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { base, port, pid: child.pid, exited: child.exited, queue, topic: queue, logs, stop };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Sends bytes as they are over one TCP connection and reads the answer until the server
 * closes it: for what fetch will not send (a Host without port, TRACE).
 */
export async function rawHttp(port: number, request: string | Uint8Array): Promise<RawResponse> {
  const received: Buffer[] = [];
  const { promise: closed, resolve } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_socket, chunk) => void received.push(Buffer.from(chunk)),
      close: () => resolve(),
      error: () => resolve(),
    },
  });
  socket.write(request);
  await closed;
  const bytes = Buffer.concat(received);
  const headerEnd = bytes.indexOf("\r\n\r\n");
  const [statusLine = "", ...headerLines] = bytes.subarray(0, headerEnd).toString("latin1").split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body: Buffer = bytes.subarray(headerEnd + 4);
  if (headers["transfer-encoding"] === "chunked") body = dechunk(body);
  return { status: Number(statusLine.split(" ")[1]), headers, body: body.toString("utf8") };
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf("\r\n", at);
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString("latin1"), 16);
    if (!(size > 0)) return Buffer.concat(parts);
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
