/**
 * The compose stack under test, as scripts/docker/compose-test.sh started it: its settings, its
 * containers (through the docker CLI) and its published ports on 127.0.0.1.
 */

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this test through \`make compose-test\``);
  return value;
}

export const PROJECT = setting("COMPOSE_TEST_PROJECT");
export const API_URL = `http://127.0.0.1:${setting("API_HOST_PORT")}`;
export const RABBITMQ_MANAGEMENT_URL = `http://127.0.0.1:${setting("RABBITMQ_MANAGEMENT_HOST_PORT")}`;
export const PROMETHEUS_URL = `http://127.0.0.1:${setting("PROMETHEUS_HOST_PORT")}`;
export const VALKEY_URL = `redis://127.0.0.1:${setting("COMPOSE_TEST_VALKEY_PORT")}`;
export const REDIS_URL = `redis://127.0.0.1:${setting("COMPOSE_TEST_REDIS_PORT")}`;
/** compose.yaml's defaults (the test sets no RABBITMQ_USERNAME / RABBITMQ_PASSWORD). */
export const RABBITMQ_CREDENTIALS = `${process.env.RABBITMQ_USERNAME ?? "weather"}:${process.env.RABBITMQ_PASSWORD ?? "weather"}`;

function docker(args: string[]): string {
  const result = Bun.spawnSync(["docker", ...args], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`docker ${args.join(" ")}: ${result.stderr.toString()}`);
  return result.stdout.toString().trim();
}

/** The ids of a compose service's containers in this project, oldest replica first. */
export function containerIds(service: string): string[] {
  const out = docker([
    "ps",
    "--all",
    "--filter",
    `label=com.docker.compose.project=${PROJECT}`,
    "--filter",
    `label=com.docker.compose.service=${service}`,
    "--format",
    '{{.Label "com.docker.compose.container-number"}} {{.ID}}',
  ]);
  return out
    .split("\n")
    .filter(Boolean)
    .map((line) => line.split(" ") as [string, string])
    .sort((a, b) => Number(a[0]) - Number(b[0]))
    .map(([, id]) => id);
}

/** Runs a command in a service's first container, as `docker compose exec` would. */
export function execIn(service: string, command: string[]): string {
  const [id] = containerIds(service);
  if (!id) throw new Error(`no container for ${service}`);
  return docker(["exec", id, ...command]);
}

export interface ContainerState {
  pid: number;
  running: boolean;
  restartCount: number;
  health: string | undefined;
}

export function inspect(id: string): ContainerState {
  const [state] = JSON.parse(docker(["inspect", id])) as {
    State: { Pid: number; Running: boolean; Health?: { Status: string } };
    RestartCount: number;
  }[];
  if (!state) throw new Error(`no container ${id}`);
  return {
    pid: state.State.Pid,
    running: state.State.Running,
    restartCount: state.RestartCount,
    health: state.State.Health?.Status,
  };
}

/**
 * A crash, not a stop: SIGKILL to the container's main process from the host. (`docker kill` would
 * mark the container as stopped by hand, and the restart policy would leave it down.)
 */
export function crash(id: string): ContainerState {
  const before = inspect(id);
  if (!before.running || before.pid <= 0) throw new Error(`container ${id} is not running`);
  process.kill(before.pid, "SIGKILL");
  return before;
}
