import { BrokerError } from "@weather/brokers";
import type { BrokerName, BrokerPublisher, OutboundMessage } from "../../src/brokers/types.ts";

/** An in-process broker for unit tests and the stubbed benchmark: confirms at once unless told otherwise. */
export class FakeBroker implements BrokerPublisher {
  up = true;
  mode: "confirm" | "fail" | "hang" = "confirm";
  readonly received: OutboundMessage[] = [];
  readonly #keep: boolean;
  constructor(
    readonly name: BrokerName,
    keep = true,
  ) {
    this.#keep = keep;
  }
  start(): void {}
  isUp(): boolean {
    return this.up;
  }
  publish(messages: readonly OutboundMessage[]): Promise<void> {
    if (this.#keep) this.received.push(...messages);
    if (this.mode === "fail") return Promise.reject(new BrokerError(this.name, "refused", true));
    if (this.mode === "hang") return new Promise(() => {});
    return Promise.resolve();
  }
  async close(): Promise<void> {}
}
