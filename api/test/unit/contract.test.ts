import { describe, expect, test } from "bun:test";
import { ERROR_CODES } from "../../src/errors.ts";
import { formatBytes } from "../../src/ingest/openapi.ts";
import { buildTestApp, post, validMessage } from "../support/app.ts";

type Operation = {
  summary: string;
  responses: Record<string, { description: string; content?: Record<string, unknown> }>;
  requestBody: { content: { "application/json": { schema: { maxItems?: number } } } };
};
type Document = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: { ErrorResponse: { properties: { error: { anyOf: { const: string }[] } } } } };
};

async function openapi(app: ReturnType<typeof buildTestApp>["app"]): Promise<Document> {
  return (await (await app.handle(new Request("http://api.test/swagger/json"))).json()) as Document;
}

describe("OpenAPI document", () => {
  test("limits in the texts come from the configuration", async () => {
    const { app } = buildTestApp({
      settings: { BODY_MAX_BYTES: "1000", BATCH_BODY_MAX_BYTES: "2048", BATCH_MAX_MESSAGES: "7" },
    });
    const doc = await openapi(app);
    const process = doc.paths["/process"]?.post as Operation;
    const batch = doc.paths["/process/batch"]?.post as Operation;
    expect(process.responses["413"]?.description).toContain("BODY_MAX_BYTES = 1000 bytes.");
    expect(batch.responses["413"]?.description).toContain("BATCH_BODY_MAX_BYTES = 2048 bytes (2 KiB).");
    expect(batch.summary).toBe("Accept up to 7 weather messages");
    expect(batch.requestBody.content["application/json"].schema.maxItems).toBe(7);
    expect(JSON.stringify(doc)).not.toContain("16 KiB");
  });

  test("every error code is in the document; health and metrics answers are documented", async () => {
    const doc = await openapi(buildTestApp().app);
    expect(doc.components.schemas.ErrorResponse.properties.error.anyOf.map((c) => c.const)).toEqual([...ERROR_CODES]);
    expect(doc.paths["/healthz"]?.get?.responses["200"]?.content).toBeDefined();
    expect(Object.keys(doc.paths["/metrics"]?.get?.responses["200"]?.content ?? {})[0]).toStartWith("text/plain");
  });

  test("formatBytes names the exact setting and its round size", () => {
    expect(formatBytes(16384)).toBe("16384 bytes (16 KiB)");
    expect(formatBytes(1048576)).toBe("1048576 bytes (1 MiB)");
    expect(formatBytes(1000)).toBe("1000 bytes");
  });
});

describe("routing", () => {
  test("a short host name routes by path (Elysia's default assumed 4+ characters)", async () => {
    const { app } = buildTestApp();
    for (const host of ["api", "a", "api:3000"]) {
      const response = await app.handle(
        new Request(`http://${host}/process`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(validMessage),
        }),
      );
      expect([host, response.status]).toEqual([host, 202]);
    }
  });

  test("405 with Allow for a known path and another method; 404 for an unknown path", async () => {
    const { app } = buildTestApp();
    const trace = await app.handle(new Request("http://api.test/process", { method: "TRACE" }));
    expect(trace.status).toBe(405);
    expect(trace.headers.get("allow")).toBe("POST");
    expect(((await trace.json()) as { error: string }).error).toBe("method_not_allowed");
    const options = await app.handle(new Request("http://api.test/healthz", { method: "OPTIONS" }));
    expect([options.status, options.headers.get("allow")]).toEqual([405, "GET, HEAD"]);
    expect((await app.handle(post("/nowhere", validMessage))).status).toBe(404);
  });
});

describe("body", () => {
  test("invalid UTF-8 with a Content-Length is malformed_json, not stored with U+FFFD", async () => {
    const { app, rabbitmq } = buildTestApp();
    const bytes = new Uint8Array([...new TextEncoder().encode('{"description":"Est'), 0xe1, 0x22, 0x7d]);
    const request = new Request("http://api.test/process", {
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(bytes.byteLength) },
      body: bytes,
    });
    const response = await app.handle(request);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe("malformed_json");
    expect(rabbitmq.received).toHaveLength(0);
  });

  test.each([
    ["application/json; charset=iso-8859-1", 415],
    ["application/json; charset=windows-1252", 415],
    ['application/json; charset="utf-8"', 202],
    ["application/json;charset=UTF8", 202],
    ["application/json; foo=bar", 202],
  ])("%s: %d", async (contentType, status) => {
    const { app } = buildTestApp();
    expect((await app.handle(post("/process", validMessage, contentType))).status).toBe(status);
  });
});
