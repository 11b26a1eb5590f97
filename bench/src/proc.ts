import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The one reader of /proc in the repository: a process's CPU time and resident memory, as the
 * kernel accounts them. Linux only, like the native stack it measures.
 */

export interface ProcReading {
  /** utime + stime, in seconds (clock ticks over CLK_TCK). */
  cpuSeconds: number;
  /** Resident set size, in bytes (pages over the page size). */
  rssBytes: number;
}

let units: { ticksPerSecond: number; pageBytes: number } | undefined;

/** CLK_TCK and the page size, from getconf (what /proc's ticks and pages are counted in). */
function procUnits(): { ticksPerSecond: number; pageBytes: number } {
  if (!units) {
    const getconf = (name: string) => {
      const value = Number(Bun.spawnSync(["getconf", name]).stdout.toString().trim());
      if (!Number.isFinite(value) || value <= 0) throw new Error(`getconf ${name} gave no number`);
      return value;
    };
    units = { ticksPerSecond: getconf("CLK_TCK"), pageBytes: getconf("PAGESIZE") };
  }
  return units;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) is in parentheses and may
 * itself hold spaces or parentheses, so fields are counted from the last ")".
 */
export function parseProcStat(text: string): ProcReading {
  const { ticksPerSecond, pageBytes } = procUnits();
  // After ")": field 3 (state) is index 0, so field n is index n - 3.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const field = (n: number) => Number(fields[n - 3]);
  const utime = field(14);
  const stime = field(15);
  const rssPages = field(24);
  if (![utime, stime, rssPages].every(Number.isFinite)) throw new Error("unexpected /proc/<pid>/stat format");
  return { cpuSeconds: (utime + stime) / ticksPerSecond, rssBytes: rssPages * pageBytes };
}

/** The process's CPU and RSS now; undefined once it has exited (or never existed). */
export function readProc(pid: number): ProcReading | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return parseProcStat(text);
}

/** Whether a pid file's process still runs: a stale file names a pid that is gone (or reused, which we accept). */
function livePid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 && readProc(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export type ServerRole = "broker" | "store";

/** Server name prefixes (their .state/<name>/ folder), by role. HA nodes (rabbitmq-2, kafka-3, ...) match too. */
const SERVER_ROLES: [prefix: string, role: ServerRole][] = [
  ["rabbitmq", "broker"],
  ["kafka", "broker"],
  ["valkey", "store"],
  ["redis", "store"],
];

export interface ServerProcess {
  /** The folder's name: "rabbitmq", "kafka", "valkey", "redis", or an HA node's. */
  name: string;
  role: ServerRole;
  pid: number;
}

/**
 * The brokers and stores this checkout's scripts/services.sh started and that still run, from
 * their pid files (.state/<server>/<server>.pid, each holding the server process itself). A
 * server found on its port but started by someone else has no pid file here and is not listed.
 */
export function serverProcesses(stateDir: string): ServerProcess[] {
  let names: string[];
  try {
    names = readdirSync(stateDir).sort();
  } catch {
    return [];
  }
  const servers: ServerProcess[] = [];
  for (const name of names) {
    const role = SERVER_ROLES.find(([prefix]) => name.startsWith(prefix))?.[1];
    if (!role) continue;
    const pid = livePid(join(stateDir, name, `${name}.pid`));
    if (pid !== undefined) servers.push({ name, role, pid });
  }
  return servers;
}

/** A process's children (Linux /proc; empty if it has none or has exited). */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** True while a process exists (signal 0: nothing is sent); false once it has exited and been reaped. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
