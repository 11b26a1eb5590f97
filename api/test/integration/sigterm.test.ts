import { afterAll, expect, test } from "bun:test";
import { validMessage } from "../support/app.ts";
import { deleteTestResources, STACK_ENV, uniqueName, waitFor } from "../support/brokers.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";

const queue = uniqueName("api-it-sigterm");
afterAll(() => deleteTestResources(queue, queue));

test("SIGTERM: not ready, in-flight requests finish with 202, exit 0 within 10 s; 413 over the wire", async () => {
  const port = await TcpProxy.freePort();
  const api = Bun.spawn(["bun", `${import.meta.dir}/../../src/main.ts`], {
    env: {
      ...STACK_ENV,
      API_PORT: String(port),
      API_HOST: "127.0.0.1",
      RABBITMQ_QUEUE: queue,
      KAFKA_TOPIC: queue,
      SHUTDOWN_DELAY_MS: "300",
      LOG_LEVEL: "warn",
    },
    stdout: "inherit",
    stderr: "inherit",
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200,
      30000,
      "the API to be ready",
    );
    const send = (body: string) =>
      fetch(`${base}/process`, { method: "POST", headers: { "content-type": "application/json" }, body });

    // 16 KiB + 1 byte: valid JSON padded with white space.
    const json = JSON.stringify(validMessage);
    const oversized = json + " ".repeat(16385 - Buffer.byteLength(json));
    expect(Buffer.byteLength(oversized)).toBe(16385);
    expect((await send(oversized)).status).toBe(413);
    expect((await send(oversized.slice(0, -1))).status).toBe(202);

    const inFlight = Array.from({ length: 50 }, () => send(JSON.stringify(validMessage)));
    await Bun.sleep(5);
    const signalledAt = performance.now();
    api.kill("SIGTERM");
    await Bun.sleep(100);
    // During the shutdown delay the listener is still open but the API reports not ready.
    expect((await fetch(`${base}/readyz`)).status).toBe(503);

    const statuses = await Promise.all(inFlight.map(async (r) => (await r).status));
    expect(statuses.every((s) => s === 202 || s === 503)).toBe(true);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(0);
    expect(await api.exited).toBe(0);
    expect(performance.now() - signalledAt).toBeLessThan(10_000);
  } finally {
    if (api.exitCode === null) api.kill("SIGKILL");
  }
}, 60_000);
