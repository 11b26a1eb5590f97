import { readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS_PER_S = 100;

/** CPU seconds (user + system) a process has used so far; 0 once it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    // The command name (field 2) may hold spaces: the fields after it start past the last ")".
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/** The pid in a pid file (scripts/services.sh writes one per server), or none. */
export function pidFromFile(path: string): number[] {
  try {
    const pid = Number(readFileSync(path, "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? [pid] : [];
  } catch {
    return [];
  }
}

/** CPU seconds used so far by each group of processes. */
export function cpuByGroup(groups: Record<string, readonly number[]>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(groups).map(([group, pids]) => [group, pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0)]),
  );
}

/** What each group used between two readings. */
export function cpuSpent(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([group, value]) => [group, value - (before[group] ?? 0)]));
}
