/**
 * Addresses of the native stack for tests: .env.example holds the defaults (the same file
 * scripts/services.sh reads); the process environment overrides them.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

function parseEnvFile(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^\s*([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) values[match[1]] = match[2]?.trim() ?? "";
  }
  return values;
}

const defaults = parseEnvFile(join(ROOT, ".env.example"));

export function stackEnv(name: string): string {
  const value = process.env[name] ?? defaults[name];
  if (value === undefined) throw new Error(`${name} is neither in the environment nor in .env.example`);
  return value;
}

/** A name no other test run uses, for queues, topics and consumer groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
