import { afterEach, describe, expect, test } from "bun:test";
import { childrenOf, isRunning, waitFor } from "../../../test/support/index.ts";
import { brokerCounts, readQueue, readTopic } from "../support/brokers.ts";
import { type SpawnedApi, spawnApi } from "../support/spawned-api.ts";

/**
 * API_PROCESSES=2: one primary, two workers sharing the port (SO_REUSEPORT). Real brokers; the
 * queue and topic are the test's own, so the counts are exact.
 */

const MESSAGES = 24;

/** The pids owning sockets of the port in a state (`ss` from iproute2): listening, or connections' server side. */
async function ownersOf(port: number, state: "listening" | "established"): Promise<number[]> {
  const out = await Bun.$`ss -Htnp state ${state} ${`( sport = :${port} )`}`.text();
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))].sort();
}

/** POSTs one message on a TCP connection of its own, left open; resolves with the status. */
async function postOnNewConnection(port: number, id: string) {
  const body = JSON.stringify({ description: "Está lloviendo", country: "GT", weather: "Lluvioso", id });
  const { promise, resolve } = Promise.withResolvers<number>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: (_s, chunk) => resolve(Number(Buffer.from(chunk).toString("latin1").split(" ")[1])) },
  });
  socket.write(
    `POST /process HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  return { status: await promise, socket };
}

const acceptedTotal = async (api: SpawnedApi) => {
  const text = await (await fetch(`${api.base}/metrics`, { headers: { connection: "close" } })).text();
  return Number(/^api_messages_accepted_total (\d+)$/m.exec(text)?.[1]);
};

describe("API_PROCESSES=2 on the real brokers", () => {
  let api: SpawnedApi | undefined;
  afterEach(async () => {
    await api?.stop();
    api = undefined;
  });

  test("both workers serve the port; /metrics sums them; every message is published once; SIGTERM stops all", async () => {
    api = await spawnApi({ API_PROCESSES: "2" });
    const workers = childrenOf(api.pid).sort();
    expect(workers).toHaveLength(2);
    // A worker listens once its brokers are up; the API was ready when the first one was.
    const port = api.port;
    await waitFor("both workers listening", async () => (await ownersOf(port, "listening")).length === 2);
    expect(await ownersOf(port, "listening")).toEqual(workers);

    const ids = Array.from({ length: MESSAGES }, () => crypto.randomUUID());
    const posts = await Promise.all(ids.map((id) => postOnNewConnection(port, id)));
    expect(posts.map((p) => p.status)).toEqual(ids.map(() => 202));
    // Every open connection is held by a worker, and both have some (24 connections: 2^-23 that one gets all).
    expect(await ownersOf(port, "established")).toEqual(workers);
    for (const { socket } of posts) socket.end();

    // Whichever worker a scrape reaches, it answers for both.
    for (let scrape = 0; scrape < 6; scrape++) expect(await acceptedTotal(api)).toBe(MESSAGES);

    expect(await brokerCounts(api.queue, api.topic)).toEqual({ queue: MESSAGES, topic: MESSAGES });
    expect((await readQueue(api.queue, MESSAGES)).map((m) => m.messageId).sort()).toEqual([...ids].sort());
    expect((await readTopic(api.topic, MESSAGES)).map((m) => m.key).sort()).toEqual([...ids].sort());

    process.kill(api.pid, "SIGTERM");
    expect(await api.exited).toBe(0);
    expect(workers.filter(isRunning)).toEqual([]);
  }, 60_000);

  test("Ctrl-C in a terminal (SIGINT to every process of the group): each worker drains once, the primary exits 0", async () => {
    api = await spawnApi({ API_PROCESSES: "2" });
    const workers = childrenOf(api.pid);
    for (const pid of [api.pid, ...workers]) process.kill(pid, "SIGINT");
    expect(await api.exited).toBe(0);
    expect(workers.filter(isRunning)).toEqual([]);
  }, 60_000);

  test("a worker killed with -9 stops the other and the primary exits 1, for its supervisor to restart", async () => {
    api = await spawnApi({ API_PROCESSES: "2" });
    const [first, second] = childrenOf(api.pid).sort();
    process.kill(first ?? 0, "SIGKILL");
    expect(await api.exited).toBe(1);
    await waitFor("the other worker to exit", () => !isRunning(second ?? 0), { timeoutMs: 15_000 });
  }, 60_000);

  test("the primary killed with -9: the workers notice and shut down", async () => {
    api = await spawnApi({ API_PROCESSES: "2" });
    const workers = childrenOf(api.pid).sort();
    process.kill(api.pid, "SIGKILL");
    await waitFor("both workers to exit", () => workers.filter(isRunning).length === 0, { timeoutMs: 15_000 });
  }, 60_000);
});
