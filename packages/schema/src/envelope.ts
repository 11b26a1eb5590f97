import { type Static, Type } from "@sinclair/typebox";
import { MessageId, WeatherMessage } from "./message.ts";

/** Bumped when the wire format changes in a way a consumer must know about. */
export const ENVELOPE_SCHEMA_VERSION = 1;

/**
 * What travels on both brokers, byte for byte the same: the normalised message,
 * its id (the client's or a new UUIDv7) and when the API accepted it.
 */
export const Envelope = Type.Object(
  {
    schemaVersion: Type.Literal(ENVELOPE_SCHEMA_VERSION),
    id: MessageId,
    acceptedAt: Type.Integer({ minimum: 0, description: "Epoch milliseconds at which the API accepted the message." }),
    ...WeatherMessage.properties,
  },
  { additionalProperties: false },
);
export type Envelope = Static<typeof Envelope>;

/**
 * Wraps a validated message for the wire. The client's id is kept so that a retry
 * is recognised downstream; otherwise a time-ordered UUIDv7 is assigned.
 */
export function createEnvelope(
  message: { description: string; country: string; weather: string; id?: string | undefined },
  acceptedAt: number = Date.now(),
): Envelope {
  return {
    schemaVersion: ENVELOPE_SCHEMA_VERSION,
    id: message.id ?? Bun.randomUUIDv7(),
    acceptedAt,
    description: message.description,
    country: message.country,
    weather: message.weather as Envelope["weather"],
  };
}

/** The exact bytes published to both brokers. */
export function encodeEnvelope(envelope: Envelope): string {
  return JSON.stringify(envelope);
}
