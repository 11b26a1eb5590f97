import type { Socket, TCPSocketListener } from "bun";

type ClientData = { upstream?: Socket<unknown>; pending: Uint8Array[] };

/** Per-connection rewrite of what the broker sends back (chunks in, chunks out). */
export type ResponseTransform = (chunk: Uint8Array) => Uint8Array[];

/**
 * A TCP proxy in front of a real broker that a test can cut (every connection
 * closed, nothing listening) and restore on the same port: a broker outage
 * without stopping the shared broker.
 */
export class TcpProxy {
  #listener: TCPSocketListener<ClientData> | undefined;
  readonly #sockets = new Set<Socket<ClientData>>();
  readonly #upstreams = new Set<Socket<unknown>>();
  port: number;

  readonly #target: { host: string; port: number };
  readonly #responseTransform?: (proxyPort: number) => ResponseTransform;
  constructor(
    target: { host: string; port: number },
    port = 0,
    responseTransform?: (proxyPort: number) => ResponseTransform,
  ) {
    this.#target = target;
    this.#responseTransform = responseTransform;
    this.port = port;
  }

  /** Reserves a free port without listening (so that a client first sees a refused connection). */
  start(): this {
    const target = this.#target;
    const sockets = this.#sockets;
    const upstreams = this.#upstreams;
    const proxy = this;
    const listener = Bun.listen<ClientData>({
      hostname: "127.0.0.1",
      port: this.port,
      socket: {
        open(client) {
          client.data = { pending: [] };
          const transform = proxy.#responseTransform?.(proxy.port);
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
                if (transform === undefined) client.write(chunk);
                else for (const out of transform(chunk)) client.write(out);
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
    this.#listener = listener;
    this.port = listener.port;
    return this;
  }

  /** The outage: stop listening and drop every open connection both ways. */
  cut(): void {
    this.#listener?.stop(true);
    this.#listener = undefined;
    for (const socket of this.#sockets) socket.terminate();
    for (const socket of this.#upstreams) socket.terminate();
    this.#sockets.clear();
    this.#upstreams.clear();
  }

  stop(): void {
    this.cut();
  }
}

/**
 * Kafka clients connect to the address a broker advertises in its Metadata
 * responses, which would bypass the proxy after bootstrapping. This transform
 * reassembles the broker's size-prefixed response frames and replaces the
 * advertised port (a fixed-width int32 right after the host string) with the
 * proxy's, so every connection of the client goes through the proxy.
 */
export function kafkaAdvertisedPortRewrite(host: string, brokerPort: number): (proxyPort: number) => ResponseTransform {
  const pattern = Buffer.concat([Buffer.from(host), int32(brokerPort)]);
  return (proxyPort) => {
    const replacement = int32(proxyPort);
    let buffered = Buffer.alloc(0);
    return (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      const frames: Uint8Array[] = [];
      while (buffered.length >= 4) {
        const size = buffered.readInt32BE(0);
        if (buffered.length < 4 + size) break;
        const frame = Buffer.from(buffered.subarray(0, 4 + size));
        buffered = buffered.subarray(4 + size);
        for (let at = frame.indexOf(pattern); at !== -1; at = frame.indexOf(pattern, at + pattern.length)) {
          replacement.copy(frame, at + host.length);
        }
        frames.push(frame);
      }
      return frames;
    };
  };
}

function int32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeInt32BE(value);
  return bytes;
}
