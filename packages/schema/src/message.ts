import { type Static, Type } from "@sinclair/typebox";
import { TEXT_PATTERN } from "./text.ts";

/** The weather values the original lab checked for, in its own spelling. */
export const WEATHER_VALUES = ["Lluvioso", "Nublado", "Soleado"] as const;
export type Weather = (typeof WEATHER_VALUES)[number];

/**
 * Spellings accepted on input and stored as the canonical value.
 * Most load scripts of the original lab send "Nubloso" for cloudy.
 */
export const WEATHER_ALIASES: Readonly<Record<string, Weather>> = { Nubloso: "Nublado" };

/** Limits of the free-text fields, in characters (Unicode code points). */
export const DESCRIPTION_MAX_LENGTH = 280;
export const COUNTRY_MAX_LENGTH = 64;

const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

export const MessageId = Type.String({
  pattern: UUID_PATTERN,
  description:
    "Client-chosen UUID, compared case-insensitively (stored in lower case); a retry with the same id is counted once.",
  examples: ["0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70"],
});

export const WeatherValue = Type.Union(
  WEATHER_VALUES.map((value) => Type.Literal(value)),
  { description: "Weather, one of Lluvioso, Nublado, Soleado." },
);

const TEXT_RULES =
  "Counted in characters (Unicode code points) as sent; stored trimmed. Must contain a character that is not white space; tab and line feed are the only control characters allowed (no carriage return), and unpaired surrogates are refused.";

/** A free-text field as documented. JSON Schema's maxLength counts code points, as the API does. */
const textInput = (maxLength: number, what: string, example: string) =>
  Type.String({
    maxLength,
    pattern: TEXT_PATTERN,
    description: `${what}, 1-${maxLength} characters. ${TEXT_RULES}`,
    examples: [example],
  });

/**
 * A message as a client sends it (the OpenAPI request schema). Strings are trimmed,
 * "Nubloso" is accepted as an alias of "Nublado" and an id is lower-cased (see
 * normalizeMessage). The text rules are checked by `textRuleBroken`, not by TypeBox.
 */
export const WeatherMessageInput = Type.Object(
  {
    description: textInput(DESCRIPTION_MAX_LENGTH, "Free text", "Está lloviendo"),
    country: textInput(COUNTRY_MAX_LENGTH, "Country name or code", "GT"),
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

/** A message after normalisation: trimmed strings (same text rules), canonical weather. */
export const WeatherMessage = Type.Object(
  {
    description: Type.String({ description: `Trimmed, 1-${DESCRIPTION_MAX_LENGTH} characters.` }),
    country: Type.String({ description: `Trimmed, 1-${COUNTRY_MAX_LENGTH} characters.` }),
    weather: WeatherValue,
  },
  { additionalProperties: false },
);
export type WeatherMessage = Static<typeof WeatherMessage>;
