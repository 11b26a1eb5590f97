/**
 * A short RabbitMQ publish-with-confirms measurement, used to compare ways of running the broker
 * (docs/deployment.md, "Native stack"). Persistent messages to a durable classic queue, IN_FLIGHT
 * unconfirmed at most, for SECONDS; prints messages per second and confirm latency percentiles.
 *
 *   bun scripts/trixie/publish-confirms.ts amqp://guest:guest@127.0.0.1:5672 [SECONDS] [IN_FLIGHT]
 */
import amqp from "amqplib";
import { publishWithConfirms } from "../lib/publish-confirms.ts";

const [url = "amqp://guest:guest@127.0.0.1:5672", seconds = "10", inFlight = "256"] = process.argv.slice(2);
const queue = `publish-confirms-${Date.now()}`;
const connection = await amqp.connect(url);
const channel = await connection.createConfirmChannel();
await channel.assertQueue(queue, { durable: true, arguments: { "x-queue-type": "classic" } });
const { perS, p50, p99 } = await publishWithConfirms(channel, queue, Number(seconds), Number(inFlight));
console.log(`${Math.round(perS)} msg/s confirmed; confirm latency p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
await channel.deleteQueue(queue);
await connection.close();
