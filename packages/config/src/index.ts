import type { Static, TObject } from "@sinclair/typebox";
import { StackConfig } from "./fields.ts";

export * from "./fields.ts";

import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";

/** Thrown at start-up when the environment does not satisfy a service's config schema. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly retriable = false;
  constructor(readonly problems: { variable: string; rule: string }[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.rule}`).join("\n")}`);
  }
}

/**
 * Parses the environment once into a typed object. The schema's property names are
 * the variable names (e.g. BATCH_MAX_WAIT_MS); defaults come from the schema, strings
 * are converted to numbers and booleans where the schema says so. Unknown variables
 * are ignored, since the process environment holds many unrelated ones.
 */
export function loadConfig<T extends TObject>(
  schema: T,
  env: Record<string, string | undefined> = process.env,
): Readonly<Static<T>> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const value = env[key];
    if (value !== undefined && value !== "") raw[key] = value;
  }
  const withDefaults = Value.Default(schema, raw);
  const converted = Value.Convert(schema, withDefaults);
  const checker = TypeCompiler.Compile(schema);
  if (!checker.Check(converted)) {
    const seen = new Set<string>();
    const problems: { variable: string; rule: string }[] = [];
    for (const error of checker.Errors(converted)) {
      const variable = error.path.replace(/^\//, "") || "(environment)";
      if (seen.has(variable)) continue;
      seen.add(variable);
      const given = env[variable];
      const suffix = given === undefined || given === "" ? " (not set)" : ` (got ${JSON.stringify(given)})`;
      problems.push({ variable, rule: `${error.message}${suffix}` });
    }
    throw new ConfigError(problems);
  }
  return Object.freeze(converted as Static<T>);
}

/** The stack's addresses and names, for tests, the bench and the demo. */
export function loadStackConfig(
  env: Record<string, string | undefined> = process.env,
): Readonly<Static<typeof StackConfig>> {
  return loadConfig(StackConfig, env);
}
