import { describe, expect, test } from "bun:test";
import { parseEnvelope } from "@weather/schema";
import { buildTestApp, post, validMessage } from "../support/app.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("POST /process", () => {
  test("202 with the id once both brokers confirmed; the same envelope bytes go to both", async () => {
    const { app, rabbitmq, kafka } = buildTestApp();
    const response = await app.handle(post("/process", validMessage));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { id: string };
    expect(Object.keys(body)).toEqual(["id"]);
    expect(body.id).toMatch(UUID);
    expect(rabbitmq.received).toHaveLength(1);
    expect(kafka.received).toHaveLength(1);
    expect(rabbitmq.received[0]?.payload.equals(kafka.received[0]?.payload as Buffer)).toBe(true);
    const envelope = parseEnvelope(rabbitmq.received[0]?.payload as Buffer);
    expect(envelope.ok).toBe(true);
    if (envelope.ok) {
      expect(envelope.value).toMatchObject({ ...validMessage, id: body.id, schemaVersion: 1 });
      expect(Math.abs(envelope.value.acceptedAt - Date.now())).toBeLessThan(5000);
    }
  });

  test("keeps the client's id, trims strings and stores Nubloso as Nublado", async () => {
    const { app, kafka } = buildTestApp();
    const id = "0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70";
    const response = await app.handle(
      post("/process", { description: "  Nubes  ", country: " MX ", weather: "Nubloso", id }),
    );
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id });
    const envelope = JSON.parse(kafka.received[0]?.payload.toString() ?? "{}");
    expect(envelope).toMatchObject({ id, description: "Nubes", country: "MX", weather: "Nublado" });
    expect(kafka.received[0]?.id).toBe(id);
  });

  test.each([
    [{ ...validMessage, weather: "Nevado" }, "/weather"],
    [{ ...validMessage, country: "   " }, "/country"],
    [{ ...validMessage, description: "x".repeat(281) }, "/description"],
    [{ country: "GT", weather: "Soleado" }, "/description"],
    [{ ...validMessage, id: "not-a-uuid" }, "/id"],
    [{ ...validMessage, extra: 1 }, "/extra"],
  ])("400 names the field and the rule (%#)", async (message, field) => {
    const { app, rabbitmq, kafka } = buildTestApp();
    const response = await app.handle(post("/process", message));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: string; details: { field: string; rule: string }[] };
    expect(body.error).toBe("validation");
    expect(body.details.map((d) => d.field)).toContain(field);
    expect(body.details.every((d) => d.rule.length > 0)).toBe(true);
    expect(rabbitmq.received).toHaveLength(0);
    expect(kafka.received).toHaveLength(0);
  });

  test("280 characters are accepted, counted as sent in code points (an emoji is one)", async () => {
    const { app } = buildTestApp();
    expect((await app.handle(post("/process", { ...validMessage, description: "é".repeat(280) }))).status).toBe(202);
    expect((await app.handle(post("/process", { ...validMessage, description: "🌧".repeat(280) }))).status).toBe(202);
    const padded = await app.handle(post("/process", { ...validMessage, description: ` ${"é".repeat(279)} ` }));
    expect(padded.status).toBe(400);
    expect(((await padded.json()) as { message: string }).message).toContain(
      "/description Must be at most 280 characters (Unicode code points), got 281",
    );
  });

  test("400 for malformed JSON and for a body that is not an object", async () => {
    const { app } = buildTestApp();
    const malformed = await app.handle(post("/process", "{not json"));
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: string }).error).toBe("malformed_json");
    const array = await app.handle(post("/process", [validMessage]));
    expect(array.status).toBe(400);
  });

  test("413 for 16 KiB + 1 byte, 202 for exactly 16 KiB of valid JSON", async () => {
    const { app } = buildTestApp();
    const json = JSON.stringify(validMessage);
    const tooLarge = `${json}${" ".repeat(16385 - Buffer.byteLength(json))}`;
    expect(Buffer.byteLength(tooLarge)).toBe(16385);
    const response = await app.handle(post("/process", tooLarge));
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: string }).error).toBe("payload_too_large");
    const fits = await app.handle(post("/process", tooLarge.slice(0, -1)));
    expect(fits.status).toBe(202);
  });

  test("413 also for a chunked body without Content-Length", async () => {
    const { app } = buildTestApp();
    const chunks = [new TextEncoder().encode("x".repeat(10000)), new TextEncoder().encode("y".repeat(10000))];
    const stream = new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const request = new Request("http://api.test/process", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
    });
    expect(request.headers.get("content-length")).toBeNull();
    expect((await app.handle(request)).status).toBe(413);
  });

  test.each(["text/plain", "application/x-www-form-urlencoded"])("415 for %s", async (type) => {
    const { app } = buildTestApp();
    const response = await app.handle(post("/process", validMessage, type));
    expect(response.status).toBe(415);
    expect(((await response.json()) as { error: string }).error).toBe("unsupported_media_type");
  });

  test("application/json with a charset is accepted", async () => {
    const { app } = buildTestApp();
    expect((await app.handle(post("/process", validMessage, "application/json; charset=utf-8"))).status).toBe(202);
  });

  test("503 with Retry-After and nothing published when a broker is down", async () => {
    const { app, rabbitmq, kafka } = buildTestApp();
    kafka.up = false;
    const response = await app.handle(post("/process", validMessage));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    const body = (await response.json()) as { error: string; ids: string[]; retriable: boolean };
    expect(body.error).toBe("broker_unavailable");
    expect(body.retriable).toBe(true);
    expect(body.ids).toHaveLength(1);
    expect(rabbitmq.received).toHaveLength(0);
  });

  test("503 when a broker refuses; the partial publish is counted with its broker", async () => {
    const { app, kafka, metrics } = buildTestApp();
    kafka.mode = "fail";
    const response = await app.handle(post("/process", validMessage));
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    const text = await metrics.render();
    expect(text).toContain('api_partial_publishes_total{confirmed_by="rabbitmq"} 1');
    expect(text).toContain("api_messages_accepted_total 0");
  });

  test("503 when a broker does not confirm within the bound", async () => {
    const { app, rabbitmq } = buildTestApp({ settings: { PUBLISH_TIMEOUT_MS: "50" } });
    rabbitmq.mode = "hang";
    const started = performance.now();
    const response = await app.handle(post("/process", validMessage));
    expect(response.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(((await response.json()) as { message: string }).message).toContain("no confirmation within 50 ms");
  });

  test("served while only readiness is off (SHUTDOWN_DELAY_MS); 503 once the listener has closed", async () => {
    const { app, lifecycle } = buildTestApp();
    lifecycle.shuttingDown = true;
    expect((await app.handle(post("/process", validMessage))).status).toBe(202);
    lifecycle.draining = true;
    const response = await app.handle(post("/process", validMessage));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { error: string }).error).toBe("shutting_down");
  });

  test("404 as JSON for an unknown route", async () => {
    const { app } = buildTestApp();
    const response = await app.handle(post("/nowhere", validMessage));
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("not_found");
  });
});

describe("POST /process/batch", () => {
  test("202 listing one id per message, in order", async () => {
    const { app, rabbitmq, kafka } = buildTestApp();
    const id = "0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70";
    const messages = [validMessage, { ...validMessage, country: "MX", id }, { ...validMessage, weather: "Nubloso" }];
    const response = await app.handle(post("/process/batch", messages));
    expect(response.status).toBe(202);
    const body = (await response.json()) as { ids: string[] };
    expect(body.ids).toHaveLength(3);
    expect(body.ids[1]).toBe(id);
    expect(rabbitmq.received.map((m) => m.id)).toEqual(body.ids);
    expect(kafka.received.map((m) => m.id)).toEqual(body.ids);
  });

  test("400 naming the index, field and rule; nothing published", async () => {
    const { app, rabbitmq } = buildTestApp();
    const response = await app.handle(post("/process/batch", [validMessage, { ...validMessage, weather: "x" }]));
    expect(response.status).toBe(400);
    const body = (await response.json()) as { details: { index: number; field: string }[] };
    expect(body.details[0]).toMatchObject({ index: 1, field: "/weather" });
    expect(rabbitmq.received).toHaveLength(0);
  });

  test("400 for an empty array, more than 500 messages, or an object", async () => {
    const { app } = buildTestApp();
    expect((await app.handle(post("/process/batch", []))).status).toBe(400);
    expect((await app.handle(post("/process/batch", Array(501).fill(validMessage)))).status).toBe(400);
    expect((await app.handle(post("/process/batch", validMessage))).status).toBe(400);
    expect((await app.handle(post("/process/batch", Array(500).fill(validMessage)))).status).toBe(202);
  });

  test("415 and 503 follow the same rules", async () => {
    const { app, rabbitmq } = buildTestApp();
    expect((await app.handle(post("/process/batch", [validMessage], "text/plain"))).status).toBe(415);
    rabbitmq.up = false;
    const response = await app.handle(post("/process/batch", [validMessage, validMessage]));
    expect(response.status).toBe(503);
    expect(((await response.json()) as { ids: string[] }).ids).toHaveLength(2);
  });
});
