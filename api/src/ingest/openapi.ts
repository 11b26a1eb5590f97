import { Type } from "@sinclair/typebox";
import { MessageId, WeatherMessageInput } from "@weather/schema";
import type { DocumentDecoration } from "elysia";
import { ERROR_CODES } from "../errors.ts";

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
    error: Type.Union(
      ERROR_CODES.map((code) => Type.Literal(code)),
      { description: "Machine-readable code; docs/api.md lists each with an example request." },
    ),
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
    confirmedBy: Type.Optional(
      Type.Array(Type.Union([Type.Literal("rabbitmq"), Type.Literal("kafka")]), {
        description:
          "broker_unavailable only: brokers that had confirmed the messages when the API answered. The API publishes them to the other broker by itself while it runs.",
      }),
    ),
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

/** Reusable schemas under #/components/schemas (independent of the configured limits). */
export const componentSchemas = { WeatherMessageInput, AcceptedResponse, BatchAcceptedResponse, ErrorResponse };

type Schema = { $ref: string } | Record<string, unknown>;
const ref = (name: keyof typeof componentSchemas) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, example?: unknown) => ({
  content: { "application/json": example === undefined ? { schema } : { schema, example } },
});

/** 16384 -> "16384 bytes (16 KiB)": the exact setting, and its round size when it has one. */
export function formatBytes(bytes: number): string {
  const mib = bytes / 1048576;
  const kib = bytes / 1024;
  const round = Number.isInteger(mib) ? ` (${mib} MiB)` : Number.isInteger(kib) ? ` (${kib} KiB)` : "";
  return `${bytes} bytes${round}`;
}

const errorResponses = (bodyLimit: string) => ({
  "400": {
    description:
      "`malformed_json`: the body is not JSON in valid UTF-8. `validation`: a field broke a rule (named in details).",
    ...json(ref("ErrorResponse")),
  },
  "413": { description: `\`payload_too_large\`: body larger than ${bodyLimit}.`, ...json(ref("ErrorResponse")) },
  "415": {
    description:
      "`unsupported_media_type`: Content-Type is not application/json (or application/*+json), or names a charset other than UTF-8.",
    ...json(ref("ErrorResponse")),
  },
  "503": {
    description:
      "`broker_unavailable`: not confirmed by both brokers in time. It may have been accepted by one of them (`confirmedBy`): while the API keeps running it then publishes it to the other by itself, so both pipelines count it. Retrying after Retry-After seconds with the returned ids is always safe: an id is counted once (within the consumers' dedup window, 10 minutes by default). `shutting_down`: the API is stopping; nothing was accepted.",
    headers: {
      "Retry-After": { schema: { type: "integer" as const }, description: "Seconds to wait before retrying." },
    },
    ...json(ref("ErrorResponse")),
  },
});

export interface IngestLimits {
  bodyMaxBytes: number;
  batchBodyMaxBytes: number;
  batchMaxMessages: number;
}

const example = { description: "Está lloviendo", country: "GT", weather: "Lluvioso" };

/** The OpenAPI operations of /process and /process/batch, their texts built from the configured limits. */
export function ingestDocs(limits: IngestLimits): { process: DocumentDecoration; batch: DocumentDecoration } {
  return {
    process: {
      tags: ["ingest"],
      summary: "Accept one weather message",
      description:
        "Validates the message (strings trimmed, `Nubloso` stored as `Nublado`, `id` lower-cased), publishes it to RabbitMQ and Kafka concurrently and answers 202 only once both confirmed it. Send an `id` to retry safely.",
      requestBody: { required: true, ...json(ref("WeatherMessageInput"), example) },
      responses: {
        "202": { description: "Confirmed by both brokers.", ...json(ref("AcceptedResponse")) },
        ...errorResponses(`BODY_MAX_BYTES = ${formatBytes(limits.bodyMaxBytes)}`),
      },
    },
    batch: {
      tags: ["ingest"],
      summary: `Accept up to ${limits.batchMaxMessages} weather messages`,
      description: "Same rules as /process for every message; all are accepted or none is answered 202.",
      requestBody: {
        required: true,
        ...json(
          {
            type: "array",
            items: ref("WeatherMessageInput"),
            minItems: 1,
            maxItems: limits.batchMaxMessages,
            description: `1 to BATCH_MAX_MESSAGES = ${limits.batchMaxMessages} messages.`,
          },
          [example, { description: "Sol en la costa", country: "MX", weather: "Soleado" }],
        ),
      },
      responses: {
        "202": { description: "Every message confirmed by both brokers.", ...json(ref("BatchAcceptedResponse")) },
        ...errorResponses(`BATCH_BODY_MAX_BYTES = ${formatBytes(limits.batchBodyMaxBytes)}`),
      },
    },
  };
}
