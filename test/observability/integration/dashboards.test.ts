/**
 * Proves every panel shows data on the native stack: the real Prometheus scrapes the API
 * and every consumer replica while messages flow, then each PromQL expression of each
 * dashboard is evaluated through Prometheus's HTTP API, and each Redis data source query
 * is run against the real Valkey and Redis.
 *
 * Starts what is missing with scripts/services.sh and scripts/dev.sh (and stops only what
 * it started). Messages use a country unique to the run, so concurrent traffic from other
 * tests cannot make the counts it checks pass or fail.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { waitFor } from "@weather/async";
import { RedisClient } from "bun";
import { DATASOURCES } from "../../../grafana/src/index.ts";
import { stack } from "../../support/index.ts";
import { JOBS } from "../lib/contract.ts";
import { metricNames, type PanelQuery, panelQueries, withGrafanaVariables } from "../lib/dashboard.ts";
import { committedDashboards, ROOT } from "../lib/files.ts";
import { PrometheusApi } from "../lib/prometheus.ts";

const host = stack.BIND_HOST;
const prometheus = new PrometheusApi(`http://${host}:${stack.PROMETHEUS_PORT}`);
const apiUrl = `http://${host}:${stack.API_PORT}`;
const storeUrls: Record<string, string> = {
  [DATASOURCES.valkey.uid]: stack.VALKEY_URL,
  [DATASOURCES.redis.uid]: stack.REDIS_URL,
};

const runId = Bun.randomUUIDv7().slice(-12);
const COUNTRY = `OBS-${runId}`;
const UNIQUE_MESSAGES = 240;
const RESENT_MESSAGES = 10; // sent twice with the same id: each must show up as a duplicate, counted once
const SEND_INTERVAL_MS = 25; // ~40 messages/s for ~6 s: several scrapes see a non-zero rate
const SCRAPE_INTERVAL_S = 2;
/** Grafana's $__rate_interval on this stack: four scrape intervals plus one. */
const RATE_INTERVAL = `${5 * SCRAPE_INTERVAL_S}s`;

const queries: PanelQuery[] = [...(await committedDashboards()).values()].flatMap((d) => panelQueries(d));
const promQueries = queries.filter((q) => q.datasource.uid === DATASOURCES.prometheus.uid);
const storeQueries = queries.filter((q) => q.datasource.type === "redis-datasource");

let startedDev = false;
let trafficStartS = 0;
const DUPLICATES_BY_PIPELINE = "sum by (pipeline) (consumer_duplicates_total)";
let duplicatesBefore: Record<string, number> = {};

async function sh(script: string, ...args: string[]): Promise<void> {
  const proc = Bun.spawn(["bash", join(ROOT, script), ...args], { cwd: ROOT, stdout: "inherit", stderr: "inherit" });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} exited with ${code}`);
}

/** Targets of the service jobs that Prometheus cannot scrape (empty when all are up). */
async function downTargets(): Promise<string[]> {
  const targets = (await prometheus.activeTargets()).filter((t) =>
    (JOBS as readonly string[]).includes(t.labels.job ?? ""),
  );
  if (targets.length === 0) return ["no targets"];
  return targets.filter((t) => t.health !== "up").map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`);
}

async function apiReady(): Promise<boolean> {
  try {
    return (await fetch(`${apiUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok;
  } catch {
    return false;
  }
}

async function ensureStack(): Promise<void> {
  if (!(await prometheus.ready())) await sh("scripts/services.sh", "up");
  if (!(await apiReady()) || (await downTargets()).length > 0) {
    startedDev = true; // set first: a start that fails half-way is still cleaned up
    await sh("scripts/dev.sh", "up");
  }
  // A fresh target becomes "up" only after its first scrape.
  await waitFor(
    "every API and consumer replica to be scraped",
    async () => ((await downTargets()).length === 0 ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}

async function post(body: Record<string, string>): Promise<Response> {
  return fetch(`${apiUrl}/process`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** Spreads messages over several seconds, so rates and quantiles have more than one scrape to work on. */
async function sendTraffic(): Promise<Response[]> {
  // Rejected on purpose, once before and once after the traffic: the status panel must show a
  // 4xx series next to the 2xx one, and a counter series that appears at 1 and never moves has
  // no rate (Prometheus sees no increase before its first sample).
  const rejectedFirst = await post({ description: "bad weather", country: COUNTRY, weather: "Granizo" });
  const weathers = ["Lluvioso", "Nublado", "Soleado", "Nubloso"];
  const ids = Array.from({ length: UNIQUE_MESSAGES }, () => crypto.randomUUID());
  const pending: Promise<Response>[] = [];
  for (const [index, id] of ids.entries()) {
    const weather = weathers[index % weathers.length] ?? "Soleado";
    pending.push(post({ id, description: `observability check ${index}`, country: COUNTRY, weather }));
    await Bun.sleep(SEND_INTERVAL_MS);
  }
  const first = await Promise.all(pending);
  const resent = await Promise.all(
    ids
      .slice(0, RESENT_MESSAGES)
      .map((id) => post({ id, description: "resent", country: COUNTRY, weather: "Soleado" })),
  );
  const rejectedLast = await post({ description: "bad weather", country: COUNTRY, weather: "Granizo" });
  return [rejectedFirst, ...first, ...resent, rejectedLast];
}

function isFiniteNumber(value: string): boolean {
  return Number.isFinite(Number(value));
}

beforeAll(async () => {
  await ensureStack();
  duplicatesBefore = await prometheus.valuesBy(DUPLICATES_BY_PIPELINE, "pipeline");
  trafficStartS = Date.now() / 1000;
  const responses = await sendTraffic();
  const statuses = responses.map((r) => r.status);
  expect(statuses.slice(1, -1).every((s) => s >= 200 && s < 300)).toBe(true);
  expect([statuses.at(0), statuses.at(-1)]).toEqual([400, 400]);
  // Both stores must have counted every unique message once before the panels are read.
  for (const url of Object.values(storeUrls)) {
    const client = new RedisClient(url);
    try {
      await waitFor(
        `${url} to count ${UNIQUE_MESSAGES} messages of ${COUNTRY}`,
        async () => (Number(await client.hget("country_counts", COUNTRY)) >= UNIQUE_MESSAGES ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 500 },
      );
    } finally {
      client.close();
    }
  }
  // Prometheus has scraped the final counters (every resent message a duplicate in both
  // pipelines), then scraped once more, so that rates over the traffic have a sample after it.
  const finalSeenAt = await waitFor(
    "Prometheus to scrape the final counters",
    async () => {
      const now = await prometheus.valuesBy(DUPLICATES_BY_PIPELINE, "pipeline");
      const done = ["rabbitmq-valkey", "kafka-redis"].every(
        (p) => (now[p] ?? 0) - (duplicatesBefore[p] ?? 0) >= RESENT_MESSAGES,
      );
      return done ? Date.now() / 1000 : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  await waitFor(
    "one more scrape",
    async () => {
      const at = await prometheus.valuesBy('max by (job) (timestamp(up{job="api"}))', "job");
      return (at.api ?? 0) > finalSeenAt;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  );
}, 180_000);

afterAll(async () => {
  if (startedDev) await sh("scripts/dev.sh", "down");
}, 60_000);

describe("Prometheus panels", () => {
  test("every scrape target of the native stack is up: the API and each consumer replica", async () => {
    const targets = await prometheus.activeTargets();
    const perJob = Object.fromEntries(
      JOBS.map((job) => [job, targets.filter((t) => t.labels.job === job && t.health === "up").length]),
    );
    expect(perJob).toEqual({ api: 1, "rabbitmq-consumer": 2, "kafka-consumer": 2 });
  });

  test("every metric a panel reads is exported by some target", async () => {
    const exported = await prometheus.metadataNames();
    const wanted = [...new Set(promQueries.flatMap((q) => metricNames(q.target.expr ?? "")))].filter((m) => m !== "up");
    expect(wanted.filter((name) => !exported.has(name))).toEqual([]);
  });

  test.each(promQueries.map((q) => [`${q.panel} / ${q.refId}`, q] as const))(
    "%s returns data",
    async (_name, query) => {
      const expr = withGrafanaVariables(query.target.expr ?? "", RATE_INTERVAL);
      const response = await prometheus.queryRange(expr, Math.floor(trafficStartS), Math.ceil(Date.now() / 1000), 1);
      expect({ expr, status: response.status, error: response.error }).toEqual({
        expr,
        status: "success",
        error: undefined,
      });
      const finiteSamples = response.data.result.flatMap((series) =>
        series.values.filter(([, v]) => isFiniteNumber(v)),
      );
      expect({ expr, samples: finiteSamples.length > 0 }).toEqual({ expr, samples: true });
    },
  );
});

describe("Prometheus panels show what happened", () => {
  const rangeOf = async (expr: string) =>
    (
      await prometheus.queryRange(
        withGrafanaVariables(expr, RATE_INTERVAL),
        Math.floor(trafficStartS),
        Math.ceil(Date.now() / 1000),
        1,
      )
    ).data.result;
  const exprOf = (fragment: string): string =>
    promQueries.find((q) => q.target.expr?.includes(fragment))?.target.expr ?? `missing query with ${fragment}`;

  test("consume rate: both pipelines counted messages", async () => {
    const counting = (await rangeOf(exprOf("consumer_messages_counted_total")))
      .filter((s) => s.values.some(([, v]) => Number(v) > 0))
      .map((s) => s.metric.pipeline)
      .sort();
    expect(counting).toEqual(["kafka-redis", "rabbitmq-valkey"]);
  });

  test("HTTP status: the rejected message shows as a 400 series", async () => {
    const statuses = (await rangeOf(exprOf("api_http_requests_total")))
      .filter((s) => s.values.some(([, v]) => Number(v) > 0))
      .map((s) => s.metric.status);
    expect(statuses).toContain("400");
  });

  test("duplicates: each resent message was skipped once by each pipeline", async () => {
    const after = await prometheus.valuesBy(DUPLICATES_BY_PIPELINE, "pipeline");
    for (const pipeline of ["rabbitmq-valkey", "kafka-redis"]) {
      const added = (after[pipeline] ?? 0) - (duplicatesBefore[pipeline] ?? 0);
      expect({ pipeline, added: added >= RESENT_MESSAGES }).toEqual({ pipeline, added: true });
    }
  });
});

describe("Redis data source panels", () => {
  const clients = new Map<string, RedisClient>();
  const clientFor = (uid: string): RedisClient => {
    const url = storeUrls[uid];
    if (!url) throw new Error(`no store URL for data source ${uid}`);
    let client = clients.get(uid);
    if (!client) {
      client = new RedisClient(url);
      clients.set(uid, client);
    }
    return client;
  };
  afterAll(() => {
    for (const client of clients.values()) client.close();
  });

  test.each(storeQueries.map((q) => [`${q.panel} / ${q.refId}`, q] as const))(
    "%s returns data",
    async (_name, query) => {
      const client = clientFor(query.datasource.uid ?? "");
      const { type, command, keyName, query: line } = query.target;
      if (type === "command" && command === "get") {
        // The plugin shows GET's value as a number: it must be one.
        const value = await client.get(keyName ?? "");
        expect(Number(value)).toBeGreaterThanOrEqual(UNIQUE_MESSAGES);
      } else if (type === "command" && command === "hgetall") {
        const hash = (await client.send("HGETALL", [keyName ?? ""])) as Record<string, string>;
        // Each unique message counted once, the resent ones not again.
        expect(hash[COUNTRY]).toBe(String(UNIQUE_MESSAGES));
        expect(Object.values(hash).every(isFiniteNumber)).toBe(true);
      } else {
        const [verb = "", ...args] = (line ?? "").split(/\s+/);
        const rows = (await client.send(verb, args)) as string[];
        expect(rows.length).toBeGreaterThan(0);
        // The panel's extractFields/organize transformations expect these fields in each JSON row.
        for (const row of rows) {
          expect(Object.keys(JSON.parse(row))).toEqual(
            expect.arrayContaining(["acceptedAt", "country", "weather", "description", "id"]),
          );
        }
      }
    },
  );
});

describe("Prometheus configuration files", () => {
  // Debian's promtool is built without Kubernetes discovery, so prometheus.k8s.yml is checked
  // by the unit tests' structure checks and by the upstream image that runs it.
  test.each(["prometheus/prometheus.native.yml", "prometheus/prometheus.compose.yml"])(
    "%s passes promtool",
    async (file) => {
      const proc = Bun.spawn(["promtool", "check", "config", join(ROOT, file)], { stdout: "pipe", stderr: "pipe" });
      const [code, out, err] = await Promise.all([
        proc.exited,
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
      ]);
      expect({ code, out, err }).toMatchObject({ code: 0 });
    },
  );
});
