import { sleep } from "@weather/async";
import type { DevStack } from "./dev-stack.ts";

export interface FaultTiming {
  /** How long a killed broker or store stays down before the platform starts it again. */
  outageS: number;
  /** How long the API stays stopped (SIGSTOP). */
  pauseS: number;
  /** Scale steps: how long each new replica count runs before the next step. */
  stepS: number;
}

export interface FaultCase {
  id: string;
  /** What happens, in a line of the report. */
  title: string;
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
];
