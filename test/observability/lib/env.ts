import { join } from "node:path";
import { ROOT } from "./files.ts";

/**
 * The native stack's addresses as scripts read them: the process environment wins, then
 * .env (optional), then .env.example's defaults.
 */
export async function stackEnv(): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const name of [".env.example", ".env"]) {
    const file = Bun.file(join(ROOT, name));
    if (!(await file.exists())) continue;
    for (const line of (await file.text()).split("\n")) {
      const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
      if (match?.[1]) env[match[1]] = match[2] ?? "";
    }
  }
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined) env[name] = value;
  return env;
}
