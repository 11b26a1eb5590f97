import { readFileSync } from "node:fs";
import { connect } from "node:net";

export const ROOT = new URL("../../", import.meta.url).pathname;

/** The environment, then .env, then .env.example: the same precedence as scripts/services.sh. */
export function loadStackEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const file of [".env", ".env.example"]) {
    let text: string;
    try {
      text = readFileSync(`${ROOT}${file}`, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n")) {
      const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
      if (match?.[1] && env[match[1]] === undefined) env[match[1]] = match[2];
    }
  }
  return env;
}

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
