import { sleep, waitFor } from "@weather/async";
import {
  haTopology,
  kafkaPartitionLeader as kafkaPartitionLeaderOf,
  kafkaQuorum,
  quorumQueueLeader,
} from "../../../scripts/ha/cluster.ts";
import { childrenOf, isRunning } from "../proc.ts";
import type { DevStack, HaNode } from "./dev-stack.ts";

export interface FaultTiming {
  /** How long a killed broker or store stays down before the platform starts it again. */
  outageS: number;
  /** How long the API stays stopped (SIGSTOP). */
  pauseS: number;
  /** How long an HA node stays cut off the network. */
  cutS: number;
  /** Scale steps: how long each new replica count runs before the next step. */
  stepS: number;
}

export interface FaultCase {
  id: string;
  /** What happens, in a line of the report. */
  title: string;
  /** Settings of the services for this case only (e.g. API_PROCESSES). */
  env?: Record<string, string>;
  /** Causes the fault and resolves once it is over (a server started again, a process resumed). */
  inject(stack: DevStack, timing: FaultTiming): Promise<void>;
}

const signalProcess =
  (name: string, signal: "SIGKILL" | "SIGTERM") =>
  async (stack: DevStack): Promise<void> => {
    process.kill(await stack.pid(name), signal);
  };

const serverDown =
  (server: "rabbitmq" | "kafka" | "valkey" | "redis") =>
  async (stack: DevStack, timing: FaultTiming): Promise<void> => {
    await stack.killServer(server, "KILL");
    await sleep(timing.outageS * 1000); // the outage itself: how long the server stays away
    await stack.startServer(server);
  };

/**
 * Every fault the suite runs, each under load: `make chaos` runs them all at full length, `make
 * test` a short version of each, `make bench SCENARIO=faults` shows both pipelines side by side.
 * Processes are killed through their pid files; their supervisor (scripts/lib/supervise.sh)
 * restarts them, as compose and Kubernetes would. Servers are restarted by the suite itself, as
 * a platform would.
 */
export const FAULT_CASES: readonly FaultCase[] = [
  {
    id: "rabbitmq-consumer-kill",
    title: "kill -9 of one RabbitMQ consumer (of 2); its supervisor restarts it",
    inject: signalProcess("rabbitmq-consumer-0", "SIGKILL"),
  },
  {
    id: "rabbitmq-consumer-term",
    title: "SIGTERM of one RabbitMQ consumer (of 2), as in a rolling restart",
    inject: signalProcess("rabbitmq-consumer-0", "SIGTERM"),
  },
  {
    id: "kafka-consumer-kill",
    title: "kill -9 of one Kafka consumer (of 2): its partitions move after the session timeout",
    inject: signalProcess("kafka-consumer-0", "SIGKILL"),
  },
  {
    id: "kafka-consumer-term",
    title: "SIGTERM of one Kafka consumer (of 2), as in a rolling restart: two rebalances",
    inject: signalProcess("kafka-consumer-0", "SIGTERM"),
  },
  {
    id: "consumers-scale",
    title: "both consumers scaled 2 -> 3 -> 1 replicas under load (rebalances at each step)",
    async inject(stack, timing) {
      await Promise.all([stack.scale("rabbitmq", 3), stack.scale("kafka", 3)]);
      await sleep(timing.stepS * 1000);
      await Promise.all([stack.scale("rabbitmq", 1), stack.scale("kafka", 1)]);
    },
  },
  { id: "rabbitmq-kill", title: "kill -9 of RabbitMQ, started again after the outage", inject: serverDown("rabbitmq") },
  { id: "kafka-kill", title: "kill -9 of Kafka, started again after the outage", inject: serverDown("kafka") },
  { id: "valkey-kill", title: "kill -9 of Valkey, started again after the outage", inject: serverDown("valkey") },
  { id: "redis-kill", title: "kill -9 of Redis, started again after the outage", inject: serverDown("redis") },
  {
    id: "api-pause",
    title: "the API stopped (SIGSTOP) for the pause, then resumed (SIGCONT)",
    async inject(stack, timing) {
      const pid = await stack.pid("api");
      process.kill(pid, "SIGSTOP");
      await sleep(timing.pauseS * 1000);
      process.kill(pid, "SIGCONT");
    },
  },
  {
    id: "api-worker-kill",
    title:
      "kill -9 of one of two API processes (API_PROCESSES=2): the primary stops the other and exits, its supervisor restarts the API",
    env: { API_PROCESSES: "2" },
    async inject(stack) {
      const primary = await stack.pid("api");
      const [worker] = childrenOf(primary);
      if (worker === undefined) throw new Error("the API has no worker processes: is API_PROCESSES set?");
      process.kill(worker, "SIGKILL");
      // The fault lasts until the whole API is down (the other worker drained): "ready again" counts from there.
      await waitFor("the API's primary to exit", () => !isRunning(primary), { timeoutMs: 30_000, intervalMs: 50 });
    },
  },
];

/** Which node a fault hits, chosen when it lands (leadership moves between cases). */
type PickNode = (stack: DevStack) => Promise<HaNode>;

/** The RabbitMQ node leading the stack's quorum queue: losing it forces a leader election. */
const rabbitmqQueueLeader: PickNode = async (stack) =>
  `rabbitmq-ha-${await quorumQueueLeader(haTopology(), stack.queue)}` as HaNode;

/** The Kafka node leading a partition of the stack's topic without being the active controller. */
const kafkaPartitionLeader: PickNode = async (stack) => {
  const topology = haTopology();
  const controller = (await kafkaQuorum(topology)).leaderId;
  for (const partition of [0, 1, 2]) {
    const leader = await kafkaPartitionLeaderOf(topology, stack.topic, partition);
    if (leader !== controller) return `kafka-ha-${leader}` as HaNode;
  }
  // Every partition led by the controller: any other broker still holds a replica of each.
  return `kafka-ha-${controller === 1 ? 2 : 1}` as HaNode;
};

/** The active KRaft controller (in combined mode also a broker leading partitions). */
const kafkaController: PickNode = async () => `kafka-ha-${(await kafkaQuorum(haTopology())).leaderId}` as HaNode;

const haNodeKilled =
  (pick: PickNode) =>
  async (stack: DevStack, timing: FaultTiming): Promise<void> => {
    const node = await pick(stack);
    await stack.killServer(node, "KILL");
    await sleep(timing.outageS * 1000); // the outage: how long the platform takes to start it again
    await stack.startServer(node); // resolves once the node is back in a whole cluster
  };

const haNodeCut =
  (pick: PickNode) =>
  async (stack: DevStack, timing: FaultTiming): Promise<void> => {
    const node = await pick(stack);
    try {
      await stack.cutServer(node);
      await sleep(timing.cutS * 1000); // the cut itself
    } finally {
      await stack.healServer(node);
    }
  };

/**
 * Node loss in the HA topology (TOPOLOGY=ha: three RabbitMQ nodes, three Kafka brokers), each
 * under load like the cases above: a node of each broker killed -9 and started again by the suite
 * (as a platform would), the Kafka controller leader among them, and one node cut off the network
 * (iptables, scripts/ha/netcut.sh) while its process runs on. Two of three nodes stay up
 * throughout, so nothing acknowledged may be lost and ingest must go on (503s retried).
 */
export const HA_FAULT_CASES: readonly FaultCase[] = [
  {
    id: "rabbitmq-node-kill",
    title: "kill -9 of the RabbitMQ node leading the quorum queue (of 3), started again after the outage",
    inject: haNodeKilled(rabbitmqQueueLeader),
  },
  {
    id: "kafka-broker-kill",
    title: "kill -9 of a Kafka broker leading a partition (of 3, not the controller), started again after the outage",
    inject: haNodeKilled(kafkaPartitionLeader),
  },
  {
    id: "kafka-controller-kill",
    title: "kill -9 of the active Kafka controller (a broker too), started again after the outage",
    inject: haNodeKilled(kafkaController),
  },
  {
    id: "rabbitmq-node-cut",
    title: "network cut of the RabbitMQ node leading the quorum queue, healed after the cut",
    inject: haNodeCut(rabbitmqQueueLeader),
  },
  {
    id: "kafka-broker-cut",
    title: "network cut of a Kafka broker leading a partition (not the controller), healed after the cut",
    inject: haNodeCut(kafkaPartitionLeader),
  },
];
