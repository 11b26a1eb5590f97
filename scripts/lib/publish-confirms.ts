/**
 * One RabbitMQ publish-with-confirms measurement, shared by the scripts that compare ways of running
 * the broker: persistent messages to `queue`, `inFlight` unconfirmed at most, for `seconds`.
 */
import { nearestRank } from "@weather/store";
import type { ConfirmChannel } from "amqplib";

export interface ConfirmedPublishes {
  perS: number;
  /** Confirm latency percentiles, in milliseconds (NaN when nothing was confirmed). */
  p50: number;
  p99: number;
}

const BODY = Buffer.from(JSON.stringify({ description: "Está lloviendo", country: "GT", weather: "Lluvioso" }));

export async function publishWithConfirms(
  channel: ConfirmChannel,
  queue: string,
  seconds: number,
  inFlight: number,
): Promise<ConfirmedPublishes> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let pending = 0;
  await new Promise<void>((done) => {
    const pump = () => {
      while (pending < inFlight && performance.now() < deadline) {
        const sent = performance.now();
        pending++;
        channel.sendToQueue(queue, BODY, { persistent: true }, (error) => {
          pending--;
          if (!error) latencies.push(performance.now() - sent);
          if (performance.now() < deadline) setImmediate(pump);
          else if (pending === 0) done();
        });
      }
    };
    pump();
  });
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies.length === 0 ? Number.NaN : (latencies[nearestRank(latencies.length, p) - 1] as number);
  return { perS: latencies.length / seconds, p50: at(50), p99: at(99) };
}
