/** A TCP port that was free on 127.0.0.1 a moment ago: the kernel picks it, so parallel runs do not collide. */
export function freePort(): number {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = listener;
  listener.stop(true);
  return port;
}
