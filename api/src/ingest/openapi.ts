import { Type } from "@sinclair/typebox";
import { MessageId, WeatherMessageInput } from "@weather/schema";
import type { DocumentDecoration } from "elysia";

/** Response bodies, documented in OpenAPI from the same TypeBox definitions the API uses. */
export const AcceptedResponse = Type.Object(
  { id: MessageId },
  { description: "Confirmed by RabbitMQ and Kafka.", examples: [{ id: "0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70" }] },
);

export const BatchAcceptedResponse = Type.Object(
  { ids: Type.Array(MessageId, { description: "One id per message, in request order." }) },
  { description: "Every message confirmed by RabbitMQ and Kafka." },
);

export const ErrorResponse = Type.Object(
  {
    error: Type.String({
      description: "Machine-readable code, e.g. validation, payload_too_large, broker_unavailable.",
    }),
    message: Type.String(),
    retriable: Type.Boolean({ description: "Whether sending the same request again can succeed." }),
    details: Type.Optional(
      Type.Array(
        Type.Object({
          field: Type.String({ description: "JSON pointer of the field, e.g. /weather." }),
          rule: Type.String({ description: "The rule it broke." }),
          index: Type.Optional(Type.Integer({ description: "Position in a batch." })),
        }),
      ),
    ),
    ids: Type.Optional(Type.Array(MessageId, { description: "503 only: retry with these ids to be counted once." })),
  },
  {
    examples: [
      {
        error: "validation",
        message: "Invalid message: /weather Expected union value",
        retriable: false,
        details: [{ field: "/weather", rule: "Expected union value" }],
      },
    ],
  },
);

export const WeatherMessageBatch = Type.Array(WeatherMessageInput, { minItems: 1, maxItems: 500 });

type Ref = { $ref: string };
const ref = (name: string): Ref => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Ref, example?: unknown): { content: Record<string, { schema: Ref; example?: unknown }> } => ({
  content: { "application/json": example === undefined ? { schema } : { schema, example } },
});

export const componentSchemas = {
  WeatherMessageInput,
  WeatherMessageBatch: { ...WeatherMessageBatch, items: ref("WeatherMessageInput") },
  AcceptedResponse,
  BatchAcceptedResponse,
  ErrorResponse,
};

const errorResponses = (bodyLimit: string) => ({
  "400": { description: "Invalid JSON, or a field broke a rule (named in details).", ...json(ref("ErrorResponse")) },
  "413": { description: `Body larger than ${bodyLimit}.`, ...json(ref("ErrorResponse")) },
  "415": { description: "Content-Type is not application/json.", ...json(ref("ErrorResponse")) },
  "503": {
    description:
      "A broker is unavailable or did not confirm in time; nothing was accepted. Retry after Retry-After seconds with the ids returned.",
    headers: {
      "Retry-After": { schema: { type: "integer" as const }, description: "Seconds to wait before retrying." },
    },
    ...json(ref("ErrorResponse")),
  },
});

export const processDoc: DocumentDecoration = {
  tags: ["ingest"],
  summary: "Accept one weather message",
  description:
    "Validates the message (strings trimmed, `Nubloso` stored as `Nublado`), publishes it to RabbitMQ and Kafka concurrently and answers 202 only once both confirmed it. Send an `id` to retry safely.",
  requestBody: {
    required: true,
    ...json(ref("WeatherMessageInput"), { description: "Está lloviendo", country: "GT", weather: "Lluvioso" }),
  },
  responses: {
    "202": { description: "Confirmed by both brokers.", ...json(ref("AcceptedResponse")) },
    ...errorResponses("16 KiB"),
  },
};

export const batchDoc: DocumentDecoration = {
  tags: ["ingest"],
  summary: "Accept up to 500 weather messages",
  description: "Same rules as /process for every message; all are accepted or none is answered 202.",
  requestBody: {
    required: true,
    ...json(ref("WeatherMessageBatch"), [
      { description: "Está lloviendo", country: "GT", weather: "Lluvioso" },
      { description: "Sol en la costa", country: "MX", weather: "Soleado" },
    ]),
  },
  responses: {
    "202": { description: "Every message confirmed by both brokers.", ...json(ref("BatchAcceptedResponse")) },
    ...errorResponses("BATCH_BODY_MAX_BYTES (1 MiB by default)"),
  },
};
