import { describe, expect, test } from "bun:test";
import { createEnvelope, encodeEnvelope, normalizeMessage, parseEnvelope } from "../src/index.ts";

describe("normalizeMessage", () => {
  test("accepts the original lab's example", () => {
    const result = normalizeMessage({ description: "Está lloviendo", country: "GT", weather: "Lluvioso" });
    expect(result).toEqual({ ok: true, value: { description: "Está lloviendo", country: "GT", weather: "Lluvioso" } });
  });

  test("trims strings and maps Nubloso to Nublado", () => {
    const result = normalizeMessage({ description: "  nubes  ", country: " MX ", weather: "Nubloso" });
    expect(result).toEqual({ ok: true, value: { description: "nubes", country: "MX", weather: "Nublado" } });
  });

  test("keeps a client id", () => {
    const id = "0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70";
    const result = normalizeMessage({ description: "d", country: "GT", weather: "Soleado", id });
    expect(result.ok && result.value.id).toBe(id);
  });

  test.each([
    [{ description: "   ", country: "GT", weather: "Soleado" }, "/description"],
    [{ description: "x".repeat(281), country: "GT", weather: "Soleado" }, "/description"],
    [{ description: "d", country: "", weather: "Soleado" }, "/country"],
    [{ description: "d", country: "x".repeat(65), weather: "Soleado" }, "/country"],
    [{ description: "d", country: "GT", weather: "Nevado" }, "/weather"],
    [{ description: "d", country: "GT" }, "/weather"],
    [{ description: "d", country: "GT", weather: "Soleado", id: "not-a-uuid" }, "/id"],
    [{ description: "d", country: "GT", weather: "Soleado", extra: 1 }, "/extra"],
    [{ description: 5, country: "GT", weather: "Soleado" }, "/description"],
  ])("refuses %j naming %s", (input, field) => {
    const result = normalizeMessage(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((error) => error.field)).toContain(field);
  });

  test("refuses non-objects", () => {
    for (const input of [null, [], "text", 3]) expect(normalizeMessage(input).ok).toBe(false);
  });

  test("counts characters as sent, in code points", () => {
    const message = (description: string) => ({ description, country: "GT", weather: "Soleado" });
    expect(normalizeMessage(message("x".repeat(280))).ok).toBe(true);
    expect(normalizeMessage(message("🌧".repeat(280))).ok).toBe(true);
    expect(normalizeMessage(message("🌧".repeat(281))).ok).toBe(false);
    expect(normalizeMessage(message(` ${"x".repeat(279)}`)).ok).toBe(true);
    expect(normalizeMessage(message(` ${"x".repeat(279)} `)).ok).toBe(false);
  });

  test("lower-cases the id, so that ids differing only in case are one message", () => {
    const id = "0192F1C4-7A3E-7C2B-9F10-2B3C4D5E6F70";
    const result = normalizeMessage({ description: "d", country: "GT", weather: "Soleado", id });
    expect(result.ok && result.value.id).toBe(id.toLowerCase());
  });

  test.each([
    ["\u0000", "U+0000"],
    ["a\rb", "U+000D"],
    ["a\u007f", "U+007F"],
    ["a\u0085", "U+0085"],
    ["\ud83c", "unpaired surrogate U+D83C"],
    ["x\udf27y", "unpaired surrogate U+DF27"],
  ])("refuses %j in a text, naming the field and the character", (description, named) => {
    const result = normalizeMessage({ description, country: "GT", weather: "Soleado" });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toHaveLength(1);
      expect(result.errors[0]?.field).toBe("/description");
      expect(result.errors[0]?.rule).toContain(named);
    }
  });

  test("keeps tab, line feed and paired surrogates", () => {
    const result = normalizeMessage({ description: "a\tb\nc 🌧", country: "GT", weather: "Soleado" });
    expect(result.ok && result.value.description).toBe("a\tb\nc 🌧");
  });
});

describe("envelope", () => {
  test("round-trips through the wire format", () => {
    const envelope = createEnvelope({ description: "d", country: "GT", weather: "Soleado" }, 1_700_000_000_000);
    expect(envelope.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(parseEnvelope(encodeEnvelope(envelope))).toEqual({ ok: true, value: envelope });
    expect(parseEnvelope(new TextEncoder().encode(encodeEnvelope(envelope)))).toEqual({ ok: true, value: envelope });
  });

  test("keeps the client's id", () => {
    const id = "0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70";
    expect(createEnvelope({ description: "d", country: "GT", weather: "Soleado", id }).id).toBe(id);
  });

  test("rejects what is not JSON or not an envelope", () => {
    expect(parseEnvelope("Description=a, Country=GT, Weather=Soleado").ok).toBe(false);
    const result = parseEnvelope(JSON.stringify({ schemaVersion: 1, id: "x", acceptedAt: 1 }));
    expect(result.ok).toBe(false);
  });
});
