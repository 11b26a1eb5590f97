/**
 * Which Erlang flags suit three RabbitMQ nodes on one small machine: for each set of flags, the
 * three HA nodes are restarted with it (RABBITMQ_HA_ERL_ARGS), then measured idle (CPU of the
 * three VMs over IDLE_S) and under load (one publisher with confirms to a three-member quorum
 * queue, IN_FLIGHT unconfirmed at most, for LOAD_S: messages per second, confirm latency, CPU).
 * Rounds alternate the sets, so that other work on the machine weighs on each alike.
 *
 *   TOPOLOGY=ha bun scripts/ha/erl-flags.ts [ROUNDS] [IDLE_S] [LOAD_S] [IN_FLIGHT]
 *
 * Leaves the nodes running with the flags of .env / .env.example. Results: docs/deployment.md.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { declareRabbitQueues } from "@weather/brokers";
import amqp from "amqplib";
import { readProc } from "../../bench/src/proc.ts";
import { publishWithConfirms } from "../lib/publish-confirms.ts";
import { HA_NODES, haTopology } from "./cluster.ts";

const ROOT = resolve(import.meta.dir, "../..");
const STATE_DIR = process.env.STATE_DIR ?? resolve(ROOT, ".state");
const [rounds = "2", idleS = "20", loadS = "10", inFlight = "256"] = process.argv.slice(2);
const SETS: Record<string, string> = {
  "RabbitMQ's own (2 schedulers, +sbwt none)": "",
  "+S 1:1 +SDcpu 1:1": "+S 1:1 +SDcpu 1:1",
  "Erlang's busy waiting (+sbwt medium)": "+sbwt medium +sbwtdcpu medium +sbwtdio medium",
};

function services(args: string[], erlArgs?: string): void {
  const env = { ...process.env, TOPOLOGY: "ha", ...(erlArgs === undefined ? {} : { RABBITMQ_HA_ERL_ARGS: erlArgs }) };
  const run = Bun.spawnSync(["bash", "scripts/services.sh", ...args], { cwd: ROOT, env, stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`services.sh ${args.join(" ")}: ${run.stderr.toString()}`);
}

/** CPU seconds the three nodes have used so far. */
function cpuSeconds(): number {
  return HA_NODES.reduce((sum, i) => {
    const pid = Number(readFileSync(`${STATE_DIR}/rabbitmq-ha-${i}/rabbitmq-ha-${i}.pid`, "utf8").trim());
    return sum + (readProc(pid)?.cpuSeconds ?? 0);
  }, 0);
}

async function load(url: string, seconds: number, limit: number) {
  const queue = `erl-flags-${Date.now()}`;
  const connection = await amqp.connect(url);
  const channel = await connection.createConfirmChannel();
  await declareRabbitQueues(channel, { queue, type: "quorum", deliveryLimit: 20, quorumGroupSize: 3 });
  const result = await publishWithConfirms(channel, queue, seconds, limit);
  await channel.deleteQueue(queue);
  await channel.deleteQueue(`${queue}.dlq`);
  await connection.close();
  return result;
}

const topology = haTopology();
const url = `amqp://guest:guest@${topology.host}:${topology.rabbitmq.amqpPorts[0]}`;
console.log(
  "| flags | round | idle CPU, 3 nodes (% of one core) | msg/s confirmed | p50 / p99 confirm (ms) | CPU under load (% of one core) |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (let round = 1; round <= Number(rounds); round++) {
  for (const [label, flags] of Object.entries(SETS)) {
    services(["down", "rabbitmq"]);
    services(["up", "rabbitmq"], flags);
    const idleStart = cpuSeconds();
    await Bun.sleep(Number(idleS) * 1000); // the measurement window itself
    const idle = ((cpuSeconds() - idleStart) / Number(idleS)) * 100;
    const loadStart = cpuSeconds();
    const result = await load(url, Number(loadS), Number(inFlight));
    const busy = ((cpuSeconds() - loadStart) / Number(loadS)) * 100;
    console.log(
      `| ${label} | ${round} | ${idle.toFixed(1)} | ${Math.round(result.perS)} | ${result.p50.toFixed(1)} / ${result.p99.toFixed(1)} | ${busy.toFixed(0)} |`,
    );
  }
}
services(["down", "rabbitmq"]);
services(["up", "rabbitmq"]);
