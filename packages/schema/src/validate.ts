import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Envelope } from "./envelope.ts";
import { WEATHER_ALIASES, WeatherMessage, WeatherMessageInput } from "./message.ts";

/** One broken rule, named by its field (a JSON pointer such as `/country`). */
export interface FieldError {
  field: string;
  rule: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

// Compiled once at import: validation sits on the per-request and per-message hot paths.
const inputChecker = TypeCompiler.Compile(WeatherMessageInput);
const messageChecker = TypeCompiler.Compile(WeatherMessage);
const envelopeChecker = TypeCompiler.Compile(Envelope);

type Checker<T extends TSchema> = ReturnType<typeof TypeCompiler.Compile<T>>;

function errorsOf<T extends TSchema>(checker: Checker<T>, value: unknown): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  for (const error of checker.Errors(value)) {
    const field = error.path || "/";
    // A union reports every branch; one line per field is what a client needs.
    if (seen.has(field)) continue;
    seen.add(field);
    errors.push({ field, rule: error.message });
  }
  return errors;
}

const utf8 = new TextDecoder();

function trimmed(value: unknown): unknown {
  return typeof value === "string" ? value.trim() : value;
}

/**
 * Normalises and validates a client message: trims strings, maps weather aliases
 * to their canonical value, then checks the result against the message schema.
 * Returns the message without the optional id (see `idOf`).
 */
export function normalizeMessage(input: unknown): Validated<WeatherMessageInput> {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    return { ok: false, errors: [{ field: "/", rule: "Expected a JSON object" }] };
  }
  const raw = input as Record<string, unknown>;
  const candidate: Record<string, unknown> = { ...raw };
  candidate.description = trimmed(raw.description);
  candidate.country = trimmed(raw.country);
  if (typeof raw.weather === "string") candidate.weather = WEATHER_ALIASES[raw.weather] ?? raw.weather;
  if (inputChecker.Check(candidate)) return { ok: true, value: candidate };
  return { ok: false, errors: errorsOf(inputChecker, candidate) };
}

/** Checks an already normalised message (no id, canonical weather). */
export function checkMessage(value: unknown): value is WeatherMessage {
  return messageChecker.Check(value);
}

/** Parses and validates an envelope from the wire (UTF-8 JSON). */
export function parseEnvelope(payload: string | Uint8Array): Validated<Envelope> {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === "string" ? payload : utf8.decode(payload));
  } catch (error) {
    return { ok: false, errors: [{ field: "/", rule: `Not JSON: ${(error as Error).message}` }] };
  }
  if (envelopeChecker.Check(value)) return { ok: true, value };
  return { ok: false, errors: errorsOf(envelopeChecker, value) };
}
