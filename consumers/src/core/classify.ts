import { parseEnvelope } from "@weather/schema";
import { idBytes, latencyField } from "@weather/store";
import type { DeadLetter, Delivery } from "../sources/source.ts";
import type { CountableMessage } from "../store/count-store.ts";

const utf8 = new TextDecoder("utf-8", { fatal: false });

export interface ClassifiedBatch<D extends Delivery> {
  valid: CountableMessage[];
  /** acceptedAt of each valid message, same order as `valid`. */
  acceptedAt: number[];
  /** The delivery of each valid message, same order as `valid`. */
  validDeliveries: D[];
  bad: DeadLetter<D>[];
}

/**
 * Splits a batch into countable messages and dead letters. Validation uses the shared,
 * compiled envelope schema; `countedAt` fixes the latency bucket of every message.
 */
export function classifyBatch<D extends Delivery>(batch: readonly D[], countedAt: number): ClassifiedBatch<D> {
  const valid: CountableMessage[] = [];
  const acceptedAt: number[] = [];
  const validDeliveries: D[] = [];
  const bad: DeadLetter<D>[] = [];
  for (const delivery of batch) {
    const json = utf8.decode(delivery.payload);
    const parsed = parseEnvelope(json);
    if (parsed.ok) {
      const envelope = parsed.value;
      valid.push({
        id: idBytes(envelope.id),
        country: envelope.country,
        weather: envelope.weather,
        // Clocks of API and consumer hosts may disagree by a little; never a negative latency.
        latencyField: latencyField(Math.max(0, countedAt - envelope.acceptedAt)),
        json,
        position: delivery.position,
      });
      acceptedAt.push(envelope.acceptedAt);
      validDeliveries.push(delivery);
    } else {
      const notJson = parsed.errors.length === 1 && parsed.errors[0]?.rule.startsWith("Not JSON");
      const detail = parsed.errors.map((error) => `${error.field}: ${error.rule}`).join("; ");
      bad.push({ delivery, reason: notJson ? "not_json" : "invalid_envelope", detail: detail.slice(0, 500) });
    }
  }
  return { valid, acceptedAt, validDeliveries, bad };
}
