// RABBITMQ_URL as a list of nodes, against the real broker: a node that refuses is skipped for the
// next, a heartbeat is negotiated, and each reconnection starts one node further.
import { afterAll, describe, expect, test } from "bun:test";
import { RabbitMqNodes, redactUrl } from "@weather/brokers";
import { freePort, stack, uniqueName } from "../support/index.ts";

describe("RabbitMqNodes on the native broker", () => {
  const live = stack.RABBITMQ_URL.split(",")[0] as string;
  // A node that accepts TCP connections and never answers (as one cut off mid-handshake would).
  let handshakes = 0;
  const silent = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        handshakes++;
      },
      data() {},
    },
  });
  afterAll(() => silent.stop(true));

  test("skips a node that refuses, connects to the next, and asks for a 10 s heartbeat", async () => {
    const refused = `amqp://guest:guest@127.0.0.1:${freePort()}`;
    const nodes = new RabbitMqNodes(`${refused},${live}`, () => 0);
    const { connection, node } = await nodes.connect({ connectionName: "rabbitmq-nodes-test" });
    try {
      expect(node).toBe(redactUrl(nodes.urls[1] as string));
      // The broker proposes 60 s; the client's 10 s wins (the smaller, as AMQP negotiates).
      expect((connection.connection as unknown as { heartbeat: number }).heartbeat).toBe(10);
      const channel = await connection.createChannel();
      const queue = uniqueName("rabbitmq-nodes");
      await channel.assertQueue(queue, { exclusive: true });
      expect((await channel.checkQueue(queue)).queue).toBe(queue);
      await channel.close();
    } finally {
      await connection.close();
    }
  });

  test("the next connection starts with the node after the one the last connection used", async () => {
    const nodes = new RabbitMqNodes(`${live},amqp://guest:guest@127.0.0.1:${silent.port}`, () => 0);
    handshakes = 0;
    const first = await nodes.connect({ connectTimeoutMs: 1000 });
    await first.connection.close();
    expect(handshakes).toBe(0); // the live node first
    const second = await nodes.connect({ connectTimeoutMs: 1000 });
    await second.connection.close();
    // The silent node was tried first this time, given up after the timeout, and the live one used.
    expect(handshakes).toBe(1);
    expect(second.node).toBe(redactUrl(nodes.urls[0] as string));
  });
});
