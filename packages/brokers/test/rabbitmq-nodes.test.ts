import { afterAll, describe, expect, test } from "bun:test";
import { BrokerError, isRetriable, RabbitMqNodes, rabbitmqUrls, redactUrl } from "../src/index.ts";

/** A port nothing listens on: connections are refused at once. */
function closedPort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}

/** Accepts TCP connections and never answers: an AMQP handshake there can only time out. */
const accepted: number[] = [];
const silent = Bun.listen({
  hostname: "127.0.0.1",
  port: 0,
  socket: {
    open() {
      accepted.push(Date.now());
    },
    data() {},
  },
});
afterAll(() => silent.stop(true));

describe("rabbitmqUrls", () => {
  test("one URL, or a cluster's nodes separated by commas (spaces tolerated)", () => {
    expect(rabbitmqUrls("amqp://u:p@a:5672")).toEqual(["amqp://u:p@a:5672"]);
    expect(rabbitmqUrls("amqp://a:1, amqp://b:2 ,amqp://c:3")).toEqual(["amqp://a:1", "amqp://b:2", "amqp://c:3"]);
    expect(() => rabbitmqUrls(" , ")).toThrow(BrokerError);
  });

  test("credentials never reach a log line", () => {
    expect(redactUrl("amqp://weather:s3cret@rabbitmq-0.rabbitmq:5672/?heartbeat=5")).toBe(
      "amqp://rabbitmq-0.rabbitmq:5672/?heartbeat=5",
    );
  });
});

describe("RabbitMqNodes", () => {
  test("a heartbeat is asked for unless the URL names one", () => {
    const nodes = new RabbitMqNodes("amqp://a:1,amqp://b:2/?heartbeat=30");
    expect(nodes.urls.map((url) => new URL(url).searchParams.get("heartbeat"))).toEqual(["10", "30"]);
  });

  test("every node is tried once, in order from the chosen start, and the failure is retriable", async () => {
    const refused = closedPort();
    const nodes = new RabbitMqNodes(
      `amqp://guest:guest@127.0.0.1:${refused},amqp://guest:guest@127.0.0.1:${silent.port}`,
      () => 0,
    );
    accepted.length = 0;
    const started = performance.now();
    const error = await nodes.connect({ connectTimeoutMs: 300 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(error).toBeInstanceOf(BrokerError);
    expect(isRetriable(error)).toBe(true);
    const message = (error as Error).message;
    // Refused first, then the silent node timed out: both named, without credentials.
    expect(message.indexOf(`:${refused}`)).toBeLessThan(message.indexOf(`:${silent.port}`));
    expect(message).not.toContain("guest:guest");
    expect(accepted.length).toBe(1);
    // The silent node cost one connect timeout, not the operating system's TCP retries.
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3000);
  });

  test("after a failed round the next one starts one node further", async () => {
    const [a, b, c] = [closedPort(), closedPort(), closedPort()];
    const nodes = new RabbitMqNodes(`amqp://127.0.0.1:${a},amqp://127.0.0.1:${b},amqp://127.0.0.1:${c}`, () => 0.99);
    const order = async () => {
      const message = ((await nodes.connect({ connectTimeoutMs: 300 }).catch((e: unknown) => e)) as Error).message;
      return [a, b, c].sort((x, y) => message.indexOf(`:${x}`) - message.indexOf(`:${y}`));
    };
    // random() = 0.99 picks the last node first.
    expect(await order()).toEqual([c, a, b]);
    expect(await order()).toEqual([a, b, c]);
  });
});
