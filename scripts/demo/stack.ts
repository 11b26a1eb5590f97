import { connect } from "node:net";
import { resolve } from "node:path";

/** The repository root. */
export const ROOT = resolve(import.meta.dir, "../..");

export function portOpen(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Runs a command from the repository root with the terminal attached; rejects on a non-zero exit. */
export async function run(command: string[], env: Record<string, string | undefined>): Promise<void> {
  const proc = Bun.spawn(command, { cwd: ROOT, env, stdout: "inherit", stderr: "inherit" });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${command.join(" ")} exited with ${code}`);
}
