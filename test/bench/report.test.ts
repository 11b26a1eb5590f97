import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { countryAgreement, targetChecks } from "../../bench/src/report/derive.ts";
import { renderMarkdown } from "../../bench/src/report/markdown.ts";
import { serviceSettings } from "../../bench/src/report/run-info.ts";
import { writeReport } from "../../bench/src/report/write.ts";
import { launchChromium } from "../support/browser.ts";
import { fixtureScenario, fixtureSoakScenario } from "./fixture.ts";

describe("report", () => {
  const dir = mkdtempSync(join(tmpdir(), "bench-report-"));
  const soakDir = mkdtempSync(join(tmpdir(), "bench-report-soak-"));
  let browser: Browser;

  beforeAll(async () => {
    const { scenario, info } = fixtureScenario();
    await writeReport(dir, scenario, info);
    const soak = fixtureSoakScenario();
    await writeReport(soakDir, soak.scenario, soak.info);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(soakDir, { recursive: true, force: true });
  });

  test("markdown holds the phase's counts, losses and the country disagreement", () => {
    const { scenario, info } = fixtureScenario();
    const md = renderMarkdown(scenario, info);
    expect(md).toContain("| rabbitmq-valkey | 999 | 999 | 0 | 0 | 0 | 0 | 0.3 |");
    expect(md).toContain("| kafka-redis | 999 | 999 | 0 | 0 | 0 | 0 | 0.6 |");
    expect(md).toContain("2 of 2 countries differ.");
    expect(md).toContain("| GT | 500 | 501 | -1 |");
    const phase = scenario.phases[0];
    if (!phase) throw new Error("fixture has no phase");
    expect(countryAgreement(phase).map((row) => row.agree)).toEqual([false, false]);
    // 999 accepted of 1000 sent at 200/s for 5 s; p99 of 1..20 ms latencies is 20 ms.
    expect(phase.load.accepted).toBe(999);
    expect(phase.load.latencyMs?.p99).toBe(20);
    expect(targetChecks(scenario).every((check) => check.met === false)).toBe(true);
  });

  test("the latency and CPU targets are judged on a 2,000 msg/s phase only, against their figures", () => {
    const { scenario } = fixtureScenario();
    const phase = scenario.phases[0];
    if (!phase) throw new Error("fixture has no phase");
    expect(targetChecks(scenario).map((check) => check.target)).toEqual([
      "[rate] >= 15,000 msg/s for 60 s (floor 10,000), 0 lost, 0 double-counted",
    ]);
    phase.load.targetRatePerS = 2000;
    const checks = targetChecks(scenario);
    expect(checks.map((check) => check.target)).toEqual([
      "[rate] >= 15,000 msg/s for 60 s (floor 10,000), 0 lost, 0 double-counted",
      "[rate] at 2000/s: HTTP p99 <= 10 ms, e2e p99 <= 15 ms (RabbitMQ->Valkey) / 25 ms (Kafka->Redis)",
      "[rate] at 2000/s: all processes together <= 300 µs of CPU per message",
    ]);
    // HTTP p99 20 ms misses; the CPU check reads the phase's total.
    expect(checks[1]?.met).toBe(false);
    const cpuMet = (usPerMessage: number) => {
      phase.cpu.total.usPerMessage = usPerMessage;
      return targetChecks(scenario)[2]?.met;
    };
    expect([cpuMet(300), cpuMet(301)]).toEqual([true, false]);
  });

  test("a phase whose store DB was cleared by someone else is flagged in the report", () => {
    const { scenario, info } = fixtureScenario();
    const phase = scenario.phases[0];
    if (!phase) throw new Error("fixture has no phase");
    expect(renderMarkdown(scenario, info)).not.toContain("**Warning:**");
    phase.disturbed = "rabbitmq-valkey count fell from 10 to 2 at 3.0 s";
    expect(renderMarkdown(scenario, info)).toContain("**Warning:** rabbitmq-valkey count fell from 10 to 2 at 3.0 s.");
  });

  test("raw per-request CSV has one row per request", async () => {
    const csv = await Bun.file(join(dir, "phases/rate/http-requests.csv")).text();
    expect(csv.trim().split("\n")).toHaveLength(1001);
  });

  // A phase has five charts; a soak phase three more (process RSS, store memory with its bound, store keys).
  test.each([
    { report: "rate", charts: 5 },
    { report: "soak", charts: 8 },
  ])("HTML of the $report fixture draws its $charts charts offline, with no page error", async ({ report, charts }) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    const external: string[] = [];
    page.on("pageerror", (error) => errors.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    // Nothing but the file itself (and loopback) may load: the report must be self-contained.
    await page.route("**/*", (route) => {
      const url = new URL(route.request().url());
      if (url.protocol === "file:" || ["127.0.0.1", "localhost"].includes(url.hostname)) return route.continue();
      external.push(url.href);
      return route.abort();
    });
    await page.goto(`file://${join(report === "soak" ? soakDir : dir, "report.html")}`);
    const drawn = await page.evaluate(() => {
      const canvases = Array.from(document.querySelectorAll("canvas"));
      const charts = (window as unknown as { benchCharts?: unknown[] }).benchCharts ?? [];
      const painted = canvases.map((canvas) => {
        const context = canvas.getContext("2d");
        if (!context || canvas.width === 0 || canvas.height === 0) return false;
        const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
        for (let i = 3; i < pixels.length; i += 4) if ((pixels[i] ?? 0) > 0) return true;
        return false;
      });
      return { canvases: canvases.length, charts: charts.length, painted };
    });
    expect(errors).toEqual([]);
    expect(external).toEqual([]);
    expect(drawn.canvases).toBe(charts);
    expect(drawn.charts).toBe(charts);
    expect(drawn.painted).toEqual(Array.from({ length: charts }, () => true));
    await page.close();
  });

  test("a phase shows where the request's time went inside the API", () => {
    const { scenario, info } = fixtureScenario();
    const markdown = renderMarkdown(scenario, info);
    expect(markdown).toContain("| POST /process, received to answered | 2.44 | 9.54 |");
    expect(markdown).toContain("| RabbitMQ: publish to confirm | 1.56 | 7.63 |");
    expect(markdown).toContain("| Kafka: produce to acknowledgement | 2.44 | 4.88 |");
  });

  test("a report names the service settings the run changed, and only those", () => {
    const settings = serviceSettings({
      API_PROCESSES: "2",
      BATCH_MAX_SIZE: "100",
      KAFKA_LINGER_MS: "2", // the default
      RABBITMQ_URL: "amqp://elsewhere", // the bench's own
      PATH: "/usr/bin",
    });
    expect(settings).toEqual({ API_PROCESSES: "2", BATCH_MAX_SIZE: "100" });
    const { scenario, info } = fixtureScenario();
    expect(renderMarkdown(scenario, info)).toContain('"API_PROCESSES": "2"');
  });
});
