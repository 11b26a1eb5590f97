import type { Socket, TCPSocketListener } from "bun";

type ClientData = { upstream?: Socket<unknown>; pending: Uint8Array[] };

/**
 * A TCP proxy in front of a real broker that a test can cut (every connection
 * closed, nothing listening) and restore on the same port: a broker outage
 * without stopping the shared broker.
 */
export class TcpProxy {
  private listener: TCPSocketListener<ClientData> | undefined;
  private readonly sockets = new Set<Socket<ClientData>>();
  private readonly upstreams = new Set<Socket<unknown>>();
  port: number;

  constructor(
    private readonly target: { host: string; port: number },
    port = 0,
  ) {
    this.port = port;
  }

  /** Reserves a free port without listening (so that a client first sees a refused connection). */
  static async freePort(): Promise<number> {
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    return port;
  }

  start(): this {
    const { target, sockets, upstreams } = this;
    const listener = Bun.listen<ClientData>({
      hostname: "127.0.0.1",
      port: this.port,
      socket: {
        open(client) {
          client.data = { pending: [] };
          sockets.add(client);
          void Bun.connect({
            hostname: target.host,
            port: target.port,
            socket: {
              open(upstream) {
                upstreams.add(upstream);
                client.data.upstream = upstream;
                for (const chunk of client.data.pending) upstream.write(chunk);
                client.data.pending = [];
              },
              data(_upstream, chunk) {
                client.write(chunk);
              },
              close(upstream) {
                upstreams.delete(upstream);
                client.end();
              },
              error() {
                client.end();
              },
            },
          }).catch(() => client.end());
        },
        data(client, chunk) {
          if (client.data.upstream) client.data.upstream.write(chunk);
          else client.data.pending.push(new Uint8Array(chunk));
        },
        close(client) {
          sockets.delete(client);
          client.data.upstream?.end();
        },
        error(client) {
          client.data.upstream?.end();
        },
      },
    });
    this.listener = listener;
    this.port = listener.port;
    return this;
  }

  /** The outage: stop listening and drop every open connection both ways. */
  cut(): void {
    this.listener?.stop(true);
    this.listener = undefined;
    for (const socket of this.sockets) socket.terminate();
    for (const socket of this.upstreams) socket.terminate();
    this.sockets.clear();
    this.upstreams.clear();
  }

  stop(): void {
    this.cut();
  }
}
