import { type Static, Type } from "@sinclair/typebox";

/** The weather values the original lab checked for, in its own spelling. */
export const WEATHER_VALUES = ["Lluvioso", "Nublado", "Soleado"] as const;
export type Weather = (typeof WEATHER_VALUES)[number];

/**
 * Spellings accepted on input and stored as the canonical value.
 * Most load scripts of the original lab send "Nubloso" for cloudy.
 */
export const WEATHER_ALIASES: Readonly<Record<string, Weather>> = { Nubloso: "Nublado" };

export const DESCRIPTION_MAX_LENGTH = 280;
export const COUNTRY_MAX_LENGTH = 64;

const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/** At least one character that is not white space: lengths are checked after trimming. */
const NOT_BLANK_PATTERN = "\\S";

export const MessageId = Type.String({
  pattern: UUID_PATTERN,
  description: "Client-chosen UUID; a retry with the same id is counted once.",
  examples: ["0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70"],
});

export const WeatherValue = Type.Union(
  WEATHER_VALUES.map((value) => Type.Literal(value)),
  { description: "Weather, one of Lluvioso, Nublado, Soleado." },
);

/**
 * A message as a client sends it. Strings are trimmed before the length rules apply,
 * and "Nubloso" is accepted as an alias of "Nublado" (see normalizeMessage).
 */
export const WeatherMessageInput = Type.Object(
  {
    description: Type.String({
      minLength: 1,
      maxLength: DESCRIPTION_MAX_LENGTH,
      pattern: NOT_BLANK_PATTERN,
      description: `Free text, 1-${DESCRIPTION_MAX_LENGTH} characters after trimming.`,
      examples: ["Está lloviendo"],
    }),
    country: Type.String({
      minLength: 1,
      maxLength: COUNTRY_MAX_LENGTH,
      pattern: NOT_BLANK_PATTERN,
      description: `Country name or code, 1-${COUNTRY_MAX_LENGTH} characters after trimming.`,
      examples: ["GT"],
    }),
    weather: Type.Union(
      [...WEATHER_VALUES, ...Object.keys(WEATHER_ALIASES)].map((value) => Type.Literal(value)),
      { description: "Lluvioso, Nublado or Soleado; Nubloso is accepted and stored as Nublado." },
    ),
    id: Type.Optional(MessageId),
  },
  {
    additionalProperties: false,
    examples: [{ description: "Está lloviendo", country: "GT", weather: "Lluvioso" }],
  },
);
export type WeatherMessageInput = Static<typeof WeatherMessageInput>;

/** A message after normalisation: trimmed strings, canonical weather. */
export const WeatherMessage = Type.Object(
  {
    description: Type.String({ minLength: 1, maxLength: DESCRIPTION_MAX_LENGTH, pattern: NOT_BLANK_PATTERN }),
    country: Type.String({ minLength: 1, maxLength: COUNTRY_MAX_LENGTH, pattern: NOT_BLANK_PATTERN }),
    weather: WeatherValue,
  },
  { additionalProperties: false },
);
export type WeatherMessage = Static<typeof WeatherMessage>;
