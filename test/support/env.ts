import { loadStackEnv } from "../../scripts/lib/stack-env.ts";

const env = loadStackEnv();

/** One setting of the native stack (see scripts/lib/stack-env.ts); throws when it is unknown. */
export function stackEnv(name: string): string {
  const value = env[name];
  if (value === undefined) throw new Error(`${name} is neither in the environment nor in .env.example`);
  return value;
}

/** A name no other test run uses, for queues, topics and consumer groups. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
