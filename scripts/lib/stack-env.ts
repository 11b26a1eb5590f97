/**
 * The native stack's settings for scripts and tests, with the same precedence as
 * scripts/lib/env.sh: the process environment, then .env (optional), then .env.example.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");

function readEnvFile(path: string): Record<string, string> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return {};
  }
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) values[match[1]] = (match[2] ?? "").trim();
  }
  return values;
}

export function loadStackEnv(): Record<string, string | undefined> {
  return { ...readEnvFile(join(ROOT, ".env.example")), ...readEnvFile(join(ROOT, ".env")), ...process.env };
}
