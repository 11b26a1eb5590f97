/**
 * The native HA topology as its servers report it: what `scripts/services.sh` waits on (readiness
 * of the whole cluster, never a sleep) and what the fault suite asks (which node leads what).
 *
 *   bun scripts/ha/cluster.ts ready rabbitmq|kafka     exit 0 when healthy, else 1 with the reasons
 *   bun scripts/ha/cluster.ts leader queue NAME        the RabbitMQ node (1-3) leading quorum queue NAME
 *   bun scripts/ha/cluster.ts leader partition TOPIC   the Kafka node leading partition 0 of TOPIC
 *   bun scripts/ha/cluster.ts leader controller        the Kafka node leading the controller quorum
 *
 * Node i (1-3) of RabbitMQ is `weather-ha-i@localhost` on RABBITMQ_HA_PORT + i - 1 (management
 * RABBITMQ_HA_MANAGEMENT_PORT + i - 1); Kafka node i has node.id i on KAFKA_HA_PORT + i - 1.
 */
import { Admin, Connection, describeQuorumV2 } from "@platformatic/kafka";

export const HA_NODES = [1, 2, 3] as const;

export interface HaTopology {
  host: string;
  rabbitmq: { nodeNames: string[]; amqpPorts: number[]; managementPorts: number[] };
  kafka: { ports: number[]; controllerPorts: number[] };
}

const portsFrom = (base: number) => HA_NODES.map((i) => base + i - 1);

/** The topology's addresses, from the same variables (and defaults) as scripts/services.sh. */
export function haTopology(env: Record<string, string | undefined> = process.env): HaTopology {
  const number = (name: string, fallback: number) => Number(env[name] ?? fallback);
  return {
    host: env.BIND_HOST ?? "127.0.0.1",
    rabbitmq: {
      nodeNames: HA_NODES.map((i) => `weather-ha-${i}@localhost`),
      amqpPorts: portsFrom(number("RABBITMQ_HA_PORT", 5681)),
      managementPorts: portsFrom(number("RABBITMQ_HA_MANAGEMENT_PORT", 15681)),
    },
    kafka: {
      ports: portsFrom(number("KAFKA_HA_PORT", 9192)),
      controllerPorts: portsFrom(number("KAFKA_HA_CONTROLLER_PORT", 9292)),
    },
  };
}

// ---------- RabbitMQ (management API of each node) ----------

interface ManagementNode {
  name: string;
  running: boolean;
  partitions?: string[];
}
interface ManagementQueue {
  name: string;
  vhost: string;
  type: string;
  leader?: string;
  members?: string[];
  online?: string[];
}

async function management<T>(topology: HaTopology, node: number, path: string): Promise<T> {
  const port = topology.rabbitmq.managementPorts[node - 1];
  const response = await fetch(`http://${topology.host}:${port}/api/${path}`, {
    headers: { authorization: `Basic ${btoa("guest:guest")}` },
    signal: AbortSignal.timeout(3000),
  });
  if (!response.ok) throw new Error(`node ${node}: GET /api/${path} answered ${response.status}`);
  return (await response.json()) as T;
}

/**
 * What keeps the RabbitMQ cluster from being whole, or nothing: each node answers, sees all three
 * nodes running and no partition, has no resource alarm, the metadata store is Khepri, and every
 * quorum queue has all its members online (a node that came back has rejoined every queue it holds).
 */
export async function rabbitmqProblems(topology: HaTopology): Promise<string[]> {
  const problems: string[] = [];
  const expected = [...topology.rabbitmq.nodeNames].sort();
  for (const node of HA_NODES) {
    try {
      const nodes = await management<ManagementNode[]>(topology, node, "nodes");
      const running = nodes
        .filter((n) => n.running)
        .map((n) => n.name)
        .sort();
      if (running.join() !== expected.join()) problems.push(`node ${node} sees running: ${running.join(", ")}`);
      for (const n of nodes)
        if ((n.partitions ?? []).length > 0) problems.push(`${n.name} partitioned from ${n.partitions?.join(", ")}`);
      const alarms = await fetch(
        `http://${topology.host}:${topology.rabbitmq.managementPorts[node - 1]}/api/health/checks/alarms`,
        { headers: { authorization: `Basic ${btoa("guest:guest")}` }, signal: AbortSignal.timeout(3000) },
      );
      if (!alarms.ok) problems.push(`node ${node}: resource alarm`);
    } catch (error) {
      problems.push(`node ${node}: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) return problems;
  // Khepri keeps the metadata consistent through partitions (scripts/ha/services.sh enables it on
  // blank nodes); nodes made before that keep Mnesia until their data is removed.
  const flags = await management<{ name: string; state: string }[]>(topology, 1, "feature-flags");
  if (flags.find((flag) => flag.name === "khepri_db")?.state !== "enabled") {
    problems.push(
      "metadata store is Mnesia, not Khepri: remove .state/rabbitmq-ha-* (services down first) to start blank",
    );
  }
  const queues = await management<ManagementQueue[]>(topology, 1, "queues?columns=name,vhost,type,members,online");
  for (const queue of queues.filter((q) => q.type === "quorum")) {
    const offline = (queue.members ?? []).filter((member) => !(queue.online ?? []).includes(member));
    if (offline.length > 0) problems.push(`quorum queue ${queue.name}: members offline: ${offline.join(", ")}`);
  }
  return problems;
}

/** The node (1-3) leading quorum queue `name` of vhost "/", asked of any node that answers. */
export async function quorumQueueLeader(topology: HaTopology, name: string): Promise<number> {
  for (const node of HA_NODES) {
    try {
      const queue = await management<ManagementQueue>(topology, node, `queues/%2F/${encodeURIComponent(name)}`);
      const index = topology.rabbitmq.nodeNames.indexOf(queue.leader ?? "");
      if (index >= 0) return index + 1;
    } catch {
      // That node is down: ask the next.
    }
  }
  throw new Error(`no node names a leader for quorum queue ${name}`);
}

// ---------- Kafka ----------

const bootstrap = (topology: HaTopology) => topology.kafka.ports.map((port) => `${topology.host}:${port}`);

async function withAdmin<T>(topology: HaTopology, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({
    clientId: "weather-ha-check",
    bootstrapBrokers: bootstrap(topology),
    retries: 0,
    requestTimeout: 3000,
    connectTimeout: 1000,
  });
  try {
    return await use(admin);
  } finally {
    await admin.close().catch(() => {});
  }
}

export interface KafkaQuorum {
  leaderId: number;
  highWatermark: bigint;
  /** lastCaughtUpMs: when the voter last had everything the leader had (epoch ms, the leader's clock). */
  voters: { id: number; logEndOffset: bigint; lastCaughtUpMs: number }[];
}
/** A voter that caught up with the leader within this is in sync (the log grows all the time: a no-op record every 500 ms). */
const CAUGHT_UP_WITHIN_MS = 5000;

/** The KRaft controller quorum (DescribeQuorum, forwarded to the active controller by the broker asked). */
export async function kafkaQuorum(topology: HaTopology): Promise<KafkaQuorum> {
  let last: unknown;
  for (const port of topology.kafka.ports) {
    try {
      return await describeQuorumAt(topology.host, port);
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`no broker answered DescribeQuorum: ${(last as Error)?.message ?? last}`);
}

/** DescribeQuorum sent to one broker, which answers only once it processes requests (it forwards it to the controller). */
async function describeQuorumAt(host: string, port: number): Promise<KafkaQuorum> {
  const connection = new Connection("weather-ha-check", { connectTimeout: 1000, requestTimeout: 3000 });
  try {
    await connection.connect(host, port);
    const response = await describeQuorumV2.api.async(connection, [
      { topicName: "__cluster_metadata", partitions: [{ partitionIndex: 0 }] },
    ]);
    const partition = response.topics[0]?.partitions[0];
    if (!partition) throw new Error("DescribeQuorum: no partition in the answer");
    return {
      leaderId: partition.leaderId,
      highWatermark: partition.highWatermark,
      voters: partition.currentVoters.map((v) => ({
        id: v.replicaId,
        logEndOffset: v.logEndOffset,
        lastCaughtUpMs: Number(v.lastCaughtUpTimestamp),
      })),
    };
  } finally {
    await connection.close().catch(() => {});
  }
}

/**
 * What keeps the Kafka cluster from being whole, or nothing: every broker answers requests on its
 * own port (a broker killed moments ago is still registered and in the ISRs until the controller
 * fences it, 9 s later: only its own silence tells), a controller leader among three voters that all
 * caught up with the metadata log lately, all three brokers registered (a fenced broker is left
 * out of the metadata), and no partition of any topic with a replica outside its ISR.
 */
export async function kafkaProblems(topology: HaTopology): Promise<string[]> {
  const problems: string[] = [];
  const answers = await Promise.allSettled(topology.kafka.ports.map((port) => describeQuorumAt(topology.host, port)));
  for (const [i, answer] of answers.entries())
    if (answer.status === "rejected")
      problems.push(`broker ${i + 1} does not answer: ${(answer.reason as Error).message}`);
  if (problems.length > 0) return problems;
  try {
    const quorum = await kafkaQuorum(topology);
    if (quorum.leaderId < 0) problems.push("the controller quorum has no leader");
    if (quorum.voters.length !== HA_NODES.length) problems.push(`${quorum.voters.length} controller voters`);
    for (const voter of quorum.voters)
      if (Date.now() - voter.lastCaughtUpMs > CAUGHT_UP_WITHIN_MS)
        problems.push(
          `controller ${voter.id} not caught up lately (at ${voter.logEndOffset} of ${quorum.highWatermark})`,
        );
  } catch (error) {
    problems.push((error as Error).message);
    return problems;
  }
  try {
    await withAdmin(topology, async (admin) => {
      // Internal topics (__consumer_offsets) come back without metadata from this client: the
      // application's topics are checked.
      const topics = await admin.listTopics();
      const metadata = await admin.metadata({ topics, forceUpdate: true });
      const brokers = [...metadata.brokers.keys()].sort();
      if (brokers.join() !== HA_NODES.join()) problems.push(`brokers registered: ${brokers.join(", ") || "none"}`);
      for (const [name, topic] of metadata.topics) {
        // A topic being deleted comes back without metadata: nothing to replicate any more.
        for (const [index, partition] of (topic?.partitions ?? []).entries()) {
          if (partition.leader < 0) problems.push(`${name}-${index}: no leader`);
          else if (partition.isr.length < partition.replicas.length)
            problems.push(
              `${name}-${index}: ISR ${partition.isr.join(",")} of replicas ${partition.replicas.join(",")}`,
            );
        }
      }
    });
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

/** The Kafka node leading partition `partition` of `topic`. */
export async function kafkaPartitionLeader(topology: HaTopology, topic: string, partition = 0): Promise<number> {
  return withAdmin(topology, async (admin) => {
    const metadata = await admin.metadata({ topics: [topic], forceUpdate: true });
    const leader = metadata.topics.get(topic)?.partitions[partition]?.leader;
    if (leader === undefined || leader < 0) throw new Error(`${topic}-${partition} has no leader`);
    return leader;
  });
}

async function main(args: string[]): Promise<number> {
  const topology = haTopology();
  const [command, what, name] = args;
  if (command === "ready" && (what === "rabbitmq" || what === "kafka")) {
    const problems = what === "rabbitmq" ? await rabbitmqProblems(topology) : await kafkaProblems(topology);
    for (const problem of problems) console.error(problem);
    return problems.length === 0 ? 0 : 1;
  }
  if (command === "leader") {
    if (what === "queue" && name) console.log(await quorumQueueLeader(topology, name));
    else if (what === "partition" && name) console.log(await kafkaPartitionLeader(topology, name));
    else if (what === "controller") console.log((await kafkaQuorum(topology)).leaderId);
    else return usage();
    return 0;
  }
  return usage();
}

function usage(): number {
  console.error("usage: bun scripts/ha/cluster.ts ready rabbitmq|kafka | leader queue NAME|partition TOPIC|controller");
  return 2;
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(error.message);
      process.exit(1);
    },
  );
}
