import { describe, expect, test } from "bun:test";
import { parseProcStat, readProc, serverProcesses } from "../../bench/src/proc.ts";
import { renderMarkdown, tableOf } from "../../bench/src/report/markdown.ts";
import { cpuTable } from "../../bench/src/report/tables.ts";
import { summaryLines } from "../../bench/src/report/write.ts";
import { exitCpuSeconds, ProcessWatch } from "../../bench/src/resources.ts";
import { ROOT, waitFor } from "../support/index.ts";
import { FIXTURE_CPU_SECONDS, fixturePhase, fixtureScenario } from "./fixture.ts";

/** CLK_TCK as getconf reports it: /proc counts CPU in these ticks. */
const TICKS = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim());
const TICK_S = 1 / TICKS;

/**
 * A child that allocates and touches `mib` MiB, burns `cpuS` seconds of its own CPU (whatever the
 * machine's load, it stops on its own clock), writes the CPU it has used by its own account
 * (getrusage), then stops itself (SIGSTOP): its CPU is frozen while /proc is read.
 */
function busyChild(cpuS: number, mib: number) {
  const script = `
    const ballast = Buffer.alloc(${mib} * 1024 * 1024, 1);
    const used = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
    let x = 0;
    while (used() < ${cpuS}) x += Math.sqrt(x + ballast[x % ballast.length]);
    require("node:fs").writeSync(1, used() + "\\n");
    process.kill(process.pid, "SIGSTOP");`;
  return Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "inherit" });
}

/** Waits until /proc says the process is stopped (state T). */
async function stopped(pid: number): Promise<void> {
  await waitFor(`process ${pid} stopped`, async () => {
    const text = await Bun.file(`/proc/${pid}/stat`).text();
    return text.slice(text.lastIndexOf(")") + 2).startsWith("T");
  });
}

describe("CPU per message", () => {
  test("the sampler reads a busy child's CPU and RSS as the kernel accounts them", async () => {
    const child = busyChild(0.6, 64);
    try {
      const watch = new ProcessWatch();
      watch.track({ name: "busy", role: "load generator", pid: child.pid });
      watch.start();
      await stopped(child.pid);
      const reading = readProc(child.pid);
      if (!reading) throw new Error("no /proc reading of a live child");
      const reader = child.stdout.getReader();
      const ownAccount = Number(new TextDecoder().decode((await reader.read()).value).trim());
      reader.releaseLock();
      // Its own account (getrusage, in µs) just before it stopped, and /proc's agree to two ticks:
      // /proc truncates utime and stime to whole ticks each; writing the line and stopping cost a little more.
      expect(ownAccount).toBeGreaterThanOrEqual(0.6);
      expect(reading.cpuSeconds).toBeGreaterThanOrEqual(ownAccount - 2 * TICK_S);
      expect(reading.cpuSeconds).toBeLessThanOrEqual(ownAccount + 2 * TICK_S);
      // 64 MiB allocated and touched are resident (plus Bun itself).
      expect(reading.rssBytes).toBeGreaterThan(64 * 2 ** 20);
      expect(reading.rssBytes).toBeLessThan(1024 * 2 ** 20);
      const usage = watch.finish(1000);
      const row = usage.rows.find((r) => r.name === "busy");
      // Counted from its first reading (start-up before it excluded), so at most its whole CPU.
      expect(row?.cpuSeconds).toBeLessThanOrEqual(reading.cpuSeconds);
      expect(row?.usPerMessage).toBeCloseTo(((row?.cpuSeconds ?? 0) * 1e6) / 1000, 6);

      // Frozen, then killed: the kernel's figure at exit is what /proc said, plus the exit itself
      // (freeing its memory is system time of the process).
      child.kill("SIGKILL");
      await child.exited;
      expect(exitCpuSeconds(child)).toBeGreaterThanOrEqual(reading.cpuSeconds - TICK_S);
      expect(exitCpuSeconds(child)).toBeLessThanOrEqual(reading.cpuSeconds + 0.1);
      expect(readProc(child.pid)).toBeUndefined();
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  test("parses /proc/<pid>/stat with spaces and parentheses in the command name", () => {
    // Fields 14-15 (utime, stime) = 250 + 50 ticks; field 24 (rss) = 1000 pages.
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    fields[14 - 3] = "250";
    fields[15 - 3] = "50";
    fields[24 - 3] = "1000";
    fields[0] = "S";
    const parsed = parseProcStat(`1234 (a (weird) name) ${fields.join(" ")}`);
    expect(parsed.cpuSeconds).toBeCloseTo(300 / TICKS, 9);
    const page = Number(Bun.spawnSync(["getconf", "PAGESIZE"]).stdout.toString().trim());
    expect(parsed.rssBytes).toBe(1000 * page);
  });

  test("the native servers are found through their pid files", () => {
    const servers = serverProcesses(`${ROOT}/.state`);
    // make test-integration starts the native stack: every broker and store of it runs.
    expect(servers.map((s) => s.name)).toEqual(expect.arrayContaining(["kafka", "rabbitmq", "redis", "valkey"]));
    for (const server of servers) expect(readProc(server.pid)?.cpuSeconds).toBeGreaterThan(0);
  });

  test("the table, the report and the summary show µs of CPU per message of each process, and the total", () => {
    const { scenario, info } = fixtureScenario();
    const phase = fixturePhase();
    const table = tableOf(cpuTable(phase.cpu));
    // 999 messages: 2 s of API CPU is 2,002 µs per message; 0.999 s of RabbitMQ is 1,000.
    expect(table).toContain("| api | api | 2 | 2002 |");
    expect(table).toContain("| rabbitmq | broker | 0.999 | 1000 |");
    expect(table).toContain("| vegeta | load generator | 0.5 | 500.5 |");
    const total = Object.values(FIXTURE_CPU_SECONDS).reduce((sum, [, s]) => sum + s, 0);
    expect(total).toBeCloseTo(5.899, 9);
    expect(table).toContain("| total | all processes | 5.899 | 5904.9 |");
    // Load generator first, then the API, brokers, consumers and stores.
    expect(phase.cpu.rows.map((r) => r.name)).toEqual([
      "vegeta",
      "api",
      "kafka",
      "rabbitmq",
      "rabbitmq-consumer-1",
      "redis",
      "valkey",
    ]);
    expect(renderMarkdown(scenario, info)).toContain(table);
    const summary = summaryLines("/tmp/x", scenario).join("\n");
    expect(summary).toContain("CPU µs/msg over 6 s, 999 msgs: vegeta 500.5, api 2002, kafka 1501.5, rabbitmq 1000,");
    expect(summary).toContain("total 5904.9");
  });
});
