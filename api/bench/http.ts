/**
 * `make bench-api`: requests/s and latency percentiles of POST /process with wrk,
 * (a) brokers stubbed in-process and (b) real brokers, each next to a bare
 * Bun.serve JSON echo and an Elysia one-route echo (the framework's share) measured
 * in the same run with the same load, and each server's CPU per request (/proc).
 *
 * The cases are interleaved over several rounds (echo, stubbed, real, echo, ...)
 * so that load from other processes on a shared machine hits all of them alike;
 * ratios are computed per round and averaged.
 *
 *   bun api/bench/http.ts [seconds=10] [connections=64] [rounds=2]
 */

import { Admin } from "@platformatic/kafka";
import { waitFor } from "@weather/async";
import amqp from "amqplib";
import type { Subprocess } from "bun";
import { readProc } from "../../bench/src/proc.ts";
import { freePort } from "../../test/support/ports.ts";

const [seconds = 10, connections = 64, rounds = 2] = process.argv.slice(2).map(Number);
const root = `${import.meta.dir}/../..`;
const queue = `api-bench-${process.pid}-${Date.now().toString(36)}`;
const rabbitUrl = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672";
const kafkaBrokers = (process.env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");

interface Result {
  name: string;
  rps: number;
  okRps: number;
  /** The server process's CPU (user + system, /proc) per request: robust to other load on the machine. */
  cpuUsPerReq: number;
  p50: string;
  p90: string;
  p99: string;
  non2xx: number;
  errors: number;
}

async function startServer(name: string, args: string[], env: Record<string, string>, port: number) {
  const proc = Bun.spawn(["bun", ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  const readyPath = name === "api (real brokers)" ? "/readyz" : "/";
  try {
    await waitFor(
      `${name} ready`,
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}${readyPath}`);
        return readyPath === "/" || response.status === 200;
      },
      { timeoutMs: 30_000 },
    );
    return proc;
  } catch (error) {
    proc.kill();
    throw error;
  }
}

async function stop(proc: Subprocess) {
  proc.kill("SIGTERM");
  await proc.exited;
}

function wrk(name: string, port: number, serverPid: number): Result {
  const cpuBefore = readProc(serverPid)?.cpuSeconds ?? 0;
  const run = Bun.spawnSync([
    "wrk",
    "-t2",
    `-c${connections}`,
    `-d${seconds}s`,
    "--latency",
    "-s",
    `${import.meta.dir}/post.lua`,
    `http://127.0.0.1:${port}/process`,
  ]);
  const cpuSeconds = (readProc(serverPid)?.cpuSeconds ?? 0) - cpuBefore;
  const out = run.stdout.toString();
  const number = (re: RegExp) => Number(out.match(re)?.[1] ?? 0);
  const latency = (p: string) => out.match(new RegExp(`\\s${p}%\\s+([\\d.]+\\w+)`))?.[1] ?? "?";
  const requests = number(/(\d+) requests in/);
  const duration = number(/requests in ([\d.]+)s/) || seconds;
  const non2xx = number(/Non-2xx or 3xx responses: (\d+)/);
  const errors = [...out.matchAll(/(connect|read|write|timeout) (\d+)/g)].reduce((sum, m) => sum + Number(m[2]), 0);
  return {
    name,
    rps: Math.round(number(/Requests\/sec:\s+([\d.]+)/)),
    okRps: Math.round((requests - non2xx) / duration),
    cpuUsPerReq: requests > 0 ? Math.round((cpuSeconds * 1e7) / requests) / 10 : 0,
    p50: latency("50"),
    p90: latency("90"),
    p99: latency("99"),
    non2xx,
    errors,
  };
}

async function measure(name: string, args: string[], env: Record<string, string>): Promise<Result> {
  const port = freePort();
  const proc = await startServer(name, args, { ...env, PORT: String(port), API_PORT: String(port) }, port);
  try {
    // Warm-up so JIT and connections are settled before the measured run.
    Bun.spawnSync([
      "wrk",
      "-t1",
      "-c16",
      "-d2s",
      "-s",
      `${import.meta.dir}/post.lua`,
      `http://127.0.0.1:${port}/process`,
    ]);
    return wrk(name, port, proc.pid);
  } finally {
    await stop(proc);
  }
}

async function cleanup() {
  const connection = await amqp.connect(rabbitUrl);
  const channel = await connection.createChannel();
  await channel.deleteQueue(queue).catch(() => {});
  await channel.deleteQueue(`${queue}.dlq`).catch(() => {});
  await connection.close();
  const admin = new Admin({ clientId: "api-bench", bootstrapBrokers: kafkaBrokers });
  await admin.deleteTopics({ topics: [queue] }).catch(() => {});
  await admin.close();
}

const echo = ["api/bench/echo-server.ts"];
const elysiaEcho = ["api/bench/elysia-echo.ts"];
const realEnv = { RABBITMQ_QUEUE: queue, KAFKA_TOPIC: queue, API_HOST: "127.0.0.1", LOG_LEVEL: "error" };
const results: (Result & { round: number })[] = [];
const stubbedRatios: number[] = [];
const elysiaRatios: number[] = [];
const cpu: Record<"echo" | "elysia" | "stubbed", number[]> = { echo: [], elysia: [], stubbed: [] };
const realRatios: number[] = [];
const realAccepted: number[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    const bare = await measure("bare Bun.serve echo", echo, {});
    const elysia = await measure("Elysia echo (one route)", elysiaEcho, {});
    const stubbed = await measure("api (brokers stubbed)", ["api/bench/stub-server.ts"], {});
    const real = await measure("api (real brokers)", ["api/src/main.ts"], realEnv);
    results.push({ round, ...bare }, { round, ...elysia }, { round, ...stubbed }, { round, ...real });
    stubbedRatios.push(stubbed.okRps / bare.rps);
    elysiaRatios.push(elysia.okRps / bare.rps);
    cpu.echo.push(bare.cpuUsPerReq);
    cpu.elysia.push(elysia.cpuUsPerReq);
    cpu.stubbed.push(stubbed.cpuUsPerReq);
    realRatios.push(real.okRps / bare.rps);
    realAccepted.push(real.okRps);
  }
} finally {
  await cleanup();
}
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
console.log(
  `wrk, ${connections} connections, 2 threads, ${seconds} s per case, ${rounds} rounds, POST /process, Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores`,
);
console.table(results);
console.log(
  `(a) stubbed / echo: ${mean(stubbedRatios).toFixed(2)}x (per round: ${stubbedRatios.map((r) => r.toFixed(2)).join(", ")}; target >= 0.85x)`,
);
console.log(
  `    Elysia echo / echo: ${mean(elysiaRatios).toFixed(2)}x; server CPU per request: echo ${mean(cpu.echo).toFixed(1)} µs, Elysia echo ${mean(cpu.elysia).toFixed(1)} µs, api stubbed ${mean(cpu.stubbed).toFixed(1)} µs`,
);
console.log(
  `(b) real brokers: ${Math.round(mean(realAccepted))} accepted req/s (per round: ${realAccepted.join(", ")}; target >= 10000), ${mean(realRatios).toFixed(2)}x the echo`,
);
