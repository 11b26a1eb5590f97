import { type TSchema, Type } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Envelope } from "./envelope.ts";
import { COUNTRY_MAX_LENGTH, DESCRIPTION_MAX_LENGTH, WEATHER_ALIASES, WeatherMessageInput } from "./message.ts";
import { textRuleBroken } from "./text.ts";

/** One broken rule, named by its field (a JSON pointer such as `/country`). */
export interface FieldError {
  field: string;
  rule: string;
}

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

/** A client message after normalisation: trimmed texts, canonical weather, lower-case id. */
export interface NormalizedMessage {
  description: string;
  country: string;
  weather: Envelope["weather"];
  id?: string;
}

/** The text fields and their limits; TypeBox checks only that they are strings. */
const TEXT_FIELDS = [
  ["description", DESCRIPTION_MAX_LENGTH],
  ["country", COUNTRY_MAX_LENGTH],
] as const;

// Compiled once at import: validation sits on the per-request and per-message hot paths.
// The text fields are plain strings here: their rules count code points (textRuleBroken).
const inputChecker = TypeCompiler.Compile(
  Type.Object(
    { ...WeatherMessageInput.properties, description: Type.String(), country: Type.String() },
    { additionalProperties: false },
  ),
);
const envelopeChecker = TypeCompiler.Compile(Envelope);

type Checker<T extends TSchema> = ReturnType<typeof TypeCompiler.Compile<T>>;

/** TypeBox's errors plus the text rules, one line per field (a union reports every branch). */
function errorsOf<T extends TSchema>(checker: Checker<T>, value: Record<string, unknown>): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  const add = (field: string, rule: string) => {
    if (seen.has(field)) return;
    seen.add(field);
    errors.push({ field, rule });
  };
  for (const error of checker.Errors(value)) add(error.path || "/", error.message);
  for (const [field, max] of TEXT_FIELDS) {
    const text = value[field];
    const broken = typeof text === "string" ? textRuleBroken(text, max) : undefined;
    if (broken !== undefined) add(`/${field}`, broken);
  }
  return errors;
}

function textsValid(value: Record<string, unknown>): boolean {
  for (const [field, max] of TEXT_FIELDS) {
    if (textRuleBroken(value[field] as string, max) !== undefined) return false;
  }
  return true;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Validates and normalises a client message: checks it as sent (text limits count
 * code points), then trims the texts, maps weather aliases to their canonical value
 * and lower-cases the id, so that an id differing only in case is the same message
 * on both brokers and in both stores' dedup keys.
 */
export function normalizeMessage(input: unknown): Validated<NormalizedMessage> {
  if (!isObject(input)) return { ok: false, errors: [{ field: "/", rule: "Expected a JSON object" }] };
  if (!inputChecker.Check(input) || !textsValid(input)) return { ok: false, errors: errorsOf(inputChecker, input) };
  const message: NormalizedMessage = {
    description: input.description.trim(),
    country: input.country.trim(),
    weather: WEATHER_ALIASES[input.weather] ?? (input.weather as NormalizedMessage["weather"]),
  };
  if (input.id !== undefined) message.id = input.id.toLowerCase();
  return { ok: true, value: message };
}

const utf8 = new TextDecoder();

/** Parses and validates an envelope from the wire (UTF-8 JSON), text rules included. */
export function parseEnvelope(payload: string | Uint8Array): Validated<Envelope> {
  let value: unknown;
  try {
    value = JSON.parse(typeof payload === "string" ? payload : utf8.decode(payload));
  } catch (error) {
    return { ok: false, errors: [{ field: "/", rule: `Not JSON: ${(error as Error).message}` }] };
  }
  if (!isObject(value)) return { ok: false, errors: [{ field: "/", rule: "Expected a JSON object" }] };
  if (envelopeChecker.Check(value) && textsValid(value)) return { ok: true, value };
  return { ok: false, errors: errorsOf(envelopeChecker, value) };
}
