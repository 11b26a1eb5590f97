import { describe, expect, test } from "bun:test";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import { classifyBatch } from "../../src/core/classify.ts";

const bytes = (text: string) => ({ payload: new TextEncoder().encode(text) });

describe("classifyBatch", () => {
  test("valid envelopes become countable messages with their latency bucket", () => {
    const envelope = createEnvelope({ description: "Clima en GT 7", country: "GT", weather: "Soleado" }, 1000);
    const { valid, bad, acceptedAt } = classifyBatch([bytes(encodeEnvelope(envelope))], 1030);
    expect(bad).toHaveLength(0);
    expect(acceptedAt).toEqual([1000]);
    expect(valid).toEqual([
      { id: envelope.id, country: "GT", weather: "Soleado", latencyField: "50", json: encodeEnvelope(envelope) },
    ]);
  });

  test("a clock running behind the API's never yields a negative latency", () => {
    const envelope = createEnvelope({ description: "x", country: "MX", weather: "Nublado" }, 5000);
    expect(classifyBatch([bytes(encodeEnvelope(envelope))], 4990).valid[0]?.latencyField).toBe("1");
  });

  test("bad messages are set aside with their reason; the rest of the batch is kept", () => {
    const good = createEnvelope({ description: "ok", country: "CR", weather: "Lluvioso" });
    const wrongWeather = {
      ...createEnvelope({ description: "x", country: "GT", weather: "Soleado" }),
      weather: "Nieve",
    };
    const batch = [
      bytes("Description=a, Country=GT"),
      bytes(encodeEnvelope(good)),
      bytes(JSON.stringify(wrongWeather)),
    ];
    const { valid, bad } = classifyBatch(batch, Date.now());
    expect(valid.map((m) => m.id)).toEqual([good.id]);
    expect(bad.map((b) => b.reason)).toEqual(["not_json", "invalid_envelope"]);
    expect(bad[1]?.detail).toContain("/weather");
    expect(bad[0]?.delivery).toBe(batch[0] as (typeof batch)[number]);
  });
});
