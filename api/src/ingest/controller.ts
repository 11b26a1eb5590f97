import { createEnvelope, type Envelope, type FieldError, normalizeMessage } from "@weather/schema";
import { Elysia } from "elysia";
import { ShuttingDownError, ValidationError } from "../errors.ts";
import { readJsonBody } from "../http/body.ts";
import type { Lifecycle } from "../lifecycle.ts";
import type { Ingest } from "./ingest.ts";
import { ingestDocs } from "./openapi.ts";

export interface IngestControllerOptions {
  ingest: Ingest;
  lifecycle: Lifecycle;
  bodyMaxBytes: number;
  batchBodyMaxBytes: number;
  batchMaxMessages: number;
  retryAfterSeconds: number;
}

/** POST /process and POST /process/batch. */
export function ingestController(options: IngestControllerOptions) {
  const { ingest, lifecycle, retryAfterSeconds } = options;
  const docs = ingestDocs(options);

  return new Elysia({ name: "ingest" })
    .post(
      "/process",
      async ({ request, set }) => {
        if (lifecycle.draining) throw new ShuttingDownError(retryAfterSeconds);
        const result = normalizeMessage(await readJsonBody(request, options.bodyMaxBytes));
        if (!result.ok) throw new ValidationError(result.errors);
        const envelope = createEnvelope(result.value);
        await ingest.publish([envelope]);
        set.status = 202;
        return { id: envelope.id };
      },
      { parse: "none", detail: docs.process },
    )
    .post(
      "/process/batch",
      async ({ request, set }) => {
        if (lifecycle.draining) throw new ShuttingDownError(retryAfterSeconds);
        const body = await readJsonBody(request, options.batchBodyMaxBytes);
        if (!Array.isArray(body))
          throw new ValidationError([{ field: "/", rule: "Expected a JSON array of messages" }]);
        if (body.length === 0 || body.length > options.batchMaxMessages) {
          throw new ValidationError([
            { field: "/", rule: `Expected 1 to ${options.batchMaxMessages} messages, got ${body.length}` },
          ]);
        }
        const acceptedAt = Date.now();
        const envelopes: Envelope[] = [];
        const errors: (FieldError & { index: number })[] = [];
        body.forEach((item, index) => {
          const result = normalizeMessage(item);
          if (result.ok) envelopes.push(createEnvelope(result.value, acceptedAt));
          else for (const error of result.errors) errors.push({ ...error, index });
        });
        if (errors.length > 0) throw new ValidationError(errors);
        await ingest.publish(envelopes);
        set.status = 202;
        return { ids: envelopes.map((e) => e.id) };
      },
      { parse: "none", detail: docs.batch },
    );
}
