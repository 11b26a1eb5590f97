/**
 * A short RabbitMQ publish-with-confirms measurement, used to compare ways of running the broker
 * (docs/deployment.md, "Native stack"). Persistent messages to a durable classic queue, IN_FLIGHT
 * unconfirmed at most, for SECONDS; prints messages per second and confirm latency percentiles.
 *
 *   bun scripts/trixie/publish-confirms.ts amqp://guest:guest@127.0.0.1:5672 [SECONDS] [IN_FLIGHT]
 */
import amqp from "amqplib";

const [url = "amqp://guest:guest@127.0.0.1:5672", seconds = "10", inFlight = "256"] = process.argv.slice(2);
const queue = `publish-confirms-${Date.now()}`;
const connection = await amqp.connect(url);
const channel = await connection.createConfirmChannel();
await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "classic" } });
const body = Buffer.from(JSON.stringify({ description: "Está lloviendo", country: "GT", weather: "Lluvioso" }));
const latencies: number[] = [];
const deadline = performance.now() + Number(seconds) * 1000;
let pending = 0;
await new Promise<void>((resolve) => {
  const pump = () => {
    while (pending < Number(inFlight) && performance.now() < deadline) {
      const sent = performance.now();
      pending++;
      channel.sendToQueue(queue, body, { persistent: true }, (error) => {
        pending--;
        if (!error) latencies.push(performance.now() - sent);
        if (performance.now() < deadline) setImmediate(pump);
        else if (pending === 0) resolve();
      });
    }
  };
  pump();
});
latencies.sort((a, b) => a - b);
const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]?.toFixed(1);
console.log(
  `${Math.round(latencies.length / Number(seconds))} msg/s confirmed; confirm latency p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
);
await channel.deleteQueue(queue);
await connection.close();
