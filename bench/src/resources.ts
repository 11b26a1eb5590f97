import { type ProcReading, readProc } from "./proc.ts";

export type ProcessRole = "api" | "broker" | "consumer" | "store" | "load generator";

/** A process whose CPU and memory a phase accounts for. */
export interface WatchedProcess {
  name: string;
  role: ProcessRole;
  pid: number;
}

export interface CpuRow {
  name: string;
  role: ProcessRole;
  /** CPU seconds (utime + stime) spent during the measured part of the phase. */
  cpuSeconds: number;
  /** Microseconds of CPU per message; null when no message was measured. */
  usPerMessage: number | null;
  /** Why a figure covers less or more than the measured part exactly. */
  note?: string;
}

/** CPU of every process over the measured part of a phase, per message. */
export interface CpuUsage {
  /** The messages the figures are divided by (what the phase measured, e.g. accepted by the API). */
  messages: number;
  /** Wall-clock seconds of the measured part. */
  wallS: number;
  rows: CpuRow[];
  total: { cpuSeconds: number; usPerMessage: number | null };
}

interface Entry extends WatchedProcess {
  /** CPU at the start of the measurement (0 for a process started during it). */
  baseline: number;
  last: ProcReading | undefined;
  /** CPU when it exited, from its exit status (the /proc entry is gone by then). */
  exitCpuSeconds?: number;
  note?: string;
}

const perMessage = (cpuSeconds: number, messages: number) => (messages > 0 ? (cpuSeconds * 1e6) / messages : null);

/**
 * Follows a set of processes through the measured part of a phase, from /proc: CPU at the start
 * and the end, and resident memory whenever sampled. `discover` is asked for the current
 * processes at each reading, so replicas started during the measurement are picked up (counted
 * from their start, start-up included); a process that exits keeps its last reading.
 */
export class ProcessWatch {
  readonly #entries = new Map<number, Entry>();
  #started = false;
  #startMs = 0;

  constructor(private readonly discover: () => WatchedProcess[] = () => []) {}

  /** Adds a process explicitly (e.g. a load generator spawned during the measurement). */
  track(process: WatchedProcess): void {
    if (this.#entries.has(process.pid)) return;
    const reading = readProc(process.pid);
    const entry: Entry = { ...process, baseline: this.#started ? 0 : (reading?.cpuSeconds ?? 0), last: reading };
    if (this.#started) entry.note = "started during the measurement: its start-up is included";
    this.#entries.set(process.pid, entry);
  }

  /** Starts the measurement: every process known now (tracked or discovered) is counted from here. */
  start(): void {
    for (const process of this.discover()) this.track(process);
    for (const entry of this.#entries.values()) {
      entry.last = readProc(entry.pid);
      entry.baseline = entry.last?.cpuSeconds ?? 0;
    }
    this.#started = true;
    this.#startMs = performance.now();
  }

  /** Reads every process; returns the resident memory (bytes) of each live one, by name. */
  sample(): Record<string, number> {
    for (const process of this.discover()) this.track(process);
    const rss: Record<string, number> = {};
    for (const entry of this.#entries.values()) {
      if (entry.exitCpuSeconds !== undefined) continue;
      const reading = readProc(entry.pid);
      if (!reading) continue;
      entry.last = reading;
      rss[entry.name] = reading.rssBytes;
    }
    return rss;
  }

  /** A tracked child has exited: its exact final CPU (from its exit status) replaces the last /proc reading. */
  exited(pid: number, cpuSeconds: number): void {
    const entry = this.#entries.get(pid);
    if (!entry) return;
    entry.exitCpuSeconds = cpuSeconds;
    entry.note = "its whole run, from its exit status";
  }

  /** Ends the measurement: CPU spent by each process since `start`, per message. */
  finish(messages: number): CpuUsage {
    this.sample();
    const rows: CpuRow[] = [];
    for (const entry of this.#entries.values()) {
      const gone = entry.exitCpuSeconds === undefined && !readProc(entry.pid);
      const end = entry.exitCpuSeconds ?? entry.last?.cpuSeconds ?? entry.baseline;
      const cpuSeconds = Math.max(0, end - entry.baseline);
      const note = gone ? "exited during the measurement: CPU up to its last reading" : entry.note;
      rows.push({
        name: entry.name,
        role: entry.role,
        cpuSeconds,
        usPerMessage: perMessage(cpuSeconds, messages),
        ...(note ? { note } : {}),
      });
    }
    return cpuUsage(rows, messages, (performance.now() - this.#startMs) / 1000);
  }
}

const ROLE_ORDER: ProcessRole[] = ["load generator", "api", "broker", "consumer", "store"];

/** Rows in a stable order (load generator, API, brokers, consumers, stores) with their total. */
export function cpuUsage(rows: CpuRow[], messages: number, wallS: number): CpuUsage {
  const sorted = [...rows].sort(
    (a, b) => ROLE_ORDER.indexOf(a.role) - ROLE_ORDER.indexOf(b.role) || a.name.localeCompare(b.name),
  );
  const cpuSeconds = sorted.reduce((sum, row) => sum + row.cpuSeconds, 0);
  return { messages, wallS, rows: sorted, total: { cpuSeconds, usPerMessage: perMessage(cpuSeconds, messages) } };
}

/** A child's CPU from its exit status (wait4's rusage: the kernel's utime + stime, as /proc had them). */
export function exitCpuSeconds(child: { resourceUsage(): { cpuTime: { total: bigint } } | undefined }): number {
  return Number(child.resourceUsage()?.cpuTime.total ?? 0n) / 1e6;
}

/** Follows a load generator spawned during the measurement, to its exact final CPU. */
export function watchChild(
  watch: ProcessWatch,
  name: string,
  child: { pid: number; exited: Promise<unknown>; resourceUsage(): { cpuTime: { total: bigint } } | undefined },
): void {
  watch.track({ name, role: "load generator", pid: child.pid });
  void child.exited.then(() => watch.exited(child.pid, exitCpuSeconds(child)));
}
