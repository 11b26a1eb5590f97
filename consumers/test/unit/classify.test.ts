import { describe, expect, test } from "bun:test";
import { createEnvelope, encodeEnvelope } from "@weather/schema";
import { idBytes } from "@weather/store";
import { classifyBatch } from "../../src/core/classify.ts";

const bytes = (text: string, position = "0:7") => ({ payload: new TextEncoder().encode(text), position });

describe("classifyBatch", () => {
  test("valid envelopes become countable messages with their latency bucket", () => {
    const envelope = createEnvelope({ description: "Clima en GT 7", country: "GT", weather: "Soleado" }, 1000);
    const delivery = bytes(encodeEnvelope(envelope));
    const { valid, bad, acceptedAt, validDeliveries } = classifyBatch([delivery], 1030);
    expect(bad).toHaveLength(0);
    expect(acceptedAt).toEqual([1000]);
    expect(validDeliveries).toEqual([delivery]);
    expect(valid).toEqual([
      {
        id: idBytes(envelope.id),
        country: "GT",
        weather: "Soleado",
        latencyField: "34.7",
        json: encodeEnvelope(envelope),
        position: "0:7",
      },
    ]);
  });

  test("a clock running behind the API's never yields a negative latency", () => {
    const envelope = createEnvelope({ description: "x", country: "MX", weather: "Nublado" }, 5000);
    expect(classifyBatch([bytes(encodeEnvelope(envelope))], 4990).valid[0]?.latencyField).toBe("0.5");
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
    expect(valid.map((m) => m.id)).toEqual([idBytes(good.id)]);
    expect(bad.map((b) => b.reason)).toEqual(["not_json", "invalid_envelope"]);
    expect(bad[1]?.detail).toContain("/weather");
    expect(bad[0]?.delivery).toBe(batch[0] as (typeof batch)[number]);
  });
});
