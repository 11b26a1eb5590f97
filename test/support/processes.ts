import { waitFor } from "@weather/async";
import { ROOT } from "./stack.ts";

export interface SpawnedProcess {
  readonly port: number;
  readonly proc: ReturnType<typeof Bun.spawn>;
  /** Everything it wrote to stdout and stderr so far. */
  readonly output: () => string;
}

/**
 * Starts `bun <entry>` from the repository root with `env` on top of this process's
 * environment, and resolves once `http://127.0.0.1:<port><readyPath>` answers 200.
 */
export async function spawnService(
  entry: string,
  env: Record<string, string>,
  port: number,
  readyPath = "/readyz",
): Promise<SpawnedProcess> {
  const proc = Bun.spawn([process.execPath, entry], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      output += decoder.decode(value, { stream: true });
    }
  };
  void collect(proc.stdout as ReadableStream<Uint8Array>);
  void collect(proc.stderr as ReadableStream<Uint8Array>);
  await waitFor(
    `${entry} on port ${port} ready`,
    async () => {
      if (proc.exitCode !== null) throw new Error(`exited with ${proc.exitCode}: ${output}`);
      return (await fetch(`http://127.0.0.1:${port}${readyPath}`)).status === 200;
    },
    { timeoutMs: 30_000 },
  );
  return { port, proc, output: () => output };
}

/** Sends `signal` and resolves with the exit code. */
export async function stopProcess(spawned: SpawnedProcess, signal: "SIGTERM" | "SIGKILL" = "SIGTERM") {
  if (spawned.proc.exitCode !== null) return spawned.proc.exitCode;
  spawned.proc.kill(signal);
  return spawned.proc.exited;
}
