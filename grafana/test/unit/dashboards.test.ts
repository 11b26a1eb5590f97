import { describe, expect, test } from "bun:test";
import { basename, join } from "node:path";
import { KNOWN_METRICS, STORE_KEYS } from "../../../test/observability/lib/contract.ts";
import {
  type DashboardJson,
  dataPanels,
  metricNames,
  panelQueries,
  unresolvedDatasources,
} from "../../../test/observability/lib/dashboard.ts";
import { committedDashboards, provisionedDatasources, ROOT } from "../../../test/observability/lib/files.ts";
import {
  DASHBOARD_FILES,
  DATASOURCES,
  PIPELINES_DASHBOARD_TITLE,
  PIPELINES_DASHBOARD_UID,
  renderDashboardFiles,
} from "../../src/index.ts";

const dashboards = await committedDashboards();
const provisioned = await provisionedDatasources();
const pipelines = dashboards.get("weather-pipelines.json") as DashboardJson;

describe("generated dashboards", () => {
  test("the committed JSON is the generator's current output", async () => {
    const rendered = renderDashboardFiles();
    expect([...rendered.keys()].map((path) => basename(path)).sort()).toEqual([...dashboards.keys()].sort());
    for (const [path, text] of rendered) {
      // On failure: run `make dashboards` and commit grafana/dashboards/.
      expect(await Bun.file(path).text()).toBe(text);
    }
  });

  test("every dashboard file has a generator", () => {
    expect(Object.keys(DASHBOARD_FILES).sort()).toEqual([...dashboards.keys()].sort());
  });

  test("the pipelines dashboard has its title, uid and a 5 s refresh", () => {
    expect(pipelines.title).toBe(PIPELINES_DASHBOARD_TITLE);
    expect(pipelines.uid).toBe(PIPELINES_DASHBOARD_UID);
    expect(pipelines.refresh).toBe("5s");
  });
});

describe.each([...dashboards])("%s", (_name, dashboard) => {
  test("every data panel has at least one query, with unique refIds", () => {
    const panels = dataPanels(dashboard);
    expect(panels.length).toBeGreaterThan(0);
    for (const panel of panels) {
      const refIds = (panel.targets ?? []).map((target) => target.refId);
      expect({ panel: panel.title, count: refIds.length > 0 }).toEqual({ panel: panel.title, count: true });
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  test("panel ids are unique", () => {
    const ids = (dashboard.panels ?? []).map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test("every data source reference names a provisioned data source of the same type", () => {
    expect(unresolvedDatasources(dashboard, provisioned)).toEqual([]);
  });

  test("PromQL reads only metrics the services export", () => {
    for (const query of panelQueries(dashboard).filter((q) => q.target.expr !== undefined)) {
      const unknown = metricNames(query.target.expr ?? "").filter((name) => !KNOWN_METRICS.has(name));
      expect({ panel: query.panel, unknown }).toEqual({ panel: query.panel, unknown: [] });
    }
  });

  test("Redis queries read only keys of the store layout, with commands the plugin supports", () => {
    for (const query of panelQueries(dashboard).filter((q) => q.datasource.type === "redis-datasource")) {
      const { type, command, keyName, query: line } = query.target;
      if (type === "command") {
        expect(["get", "hgetall"]).toContain(command ?? "");
        expect(STORE_KEYS.has(keyName ?? "")).toBe(true);
      } else {
        expect(type).toBe("cli");
        const [verb, key] = (line ?? "").split(/\s+/);
        expect(verb).toBe("LRANGE");
        expect(STORE_KEYS.has(key ?? "")).toBe(true);
      }
    }
  });
});

describe("the pipelines dashboard covers", () => {
  const queries = panelQueries(pipelines);
  const reads = (metric: string) => queries.some((q) => metricNames(q.target.expr ?? "").includes(metric));

  test("the original four panels: per-country counts and totals from both stores", () => {
    for (const uid of [DATASOURCES.valkey.uid, DATASOURCES.redis.uid]) {
      const onStore = queries.filter((q) => q.datasource.uid === uid).map((q) => q.target);
      expect(onStore).toContainEqual(expect.objectContaining({ command: "hgetall", keyName: "country_counts" }));
      expect(onStore).toContainEqual(expect.objectContaining({ command: "get", keyName: "total_messages" }));
      expect(onStore.some((t) => t.query?.startsWith("LRANGE recent_messages"))).toBe(true);
    }
  });

  test.each([
    "api_messages_accepted_total",
    "api_http_requests_total",
    "api_broker_publish_duration_seconds",
    "consumer_messages_counted_total",
    "consumer_end_to_end_latency_seconds",
    "consumer_kafka_lag",
    "consumer_rabbitmq_queue_depth",
    "consumer_duplicates_total",
    "consumer_dead_lettered_total",
    "consumer_up",
  ])("%s", (metric) => {
    expect(reads(metric)).toBe(true);
  });

  test("end-to-end latency p50, p95 and p99 per pipeline", () => {
    const latency = queries.map((q) => q.target.expr ?? "").filter((e) => e.includes("consumer_end_to_end_latency"));
    for (const q of ["0.5", "0.95", "0.99"]) {
      expect(latency.some((e) => e.startsWith(`histogram_quantile(${q},`) && e.includes("by (pipeline, le)"))).toBe(
        true,
      );
    }
  });
});

describe("the reference checker itself", () => {
  test("reports a panel pointing at a data source that is not provisioned", () => {
    const broken: DashboardJson = structuredClone(pipelines);
    const panel = dataPanels(broken)[0];
    if (!panel) throw new Error("no panel");
    panel.datasource = { type: "redis-datasource", uid: "nope" };
    expect(unresolvedDatasources(broken, provisioned)).toContainEqual(expect.stringContaining('"nope"'));
  });

  test("reports a type mismatch", () => {
    const broken: DashboardJson = structuredClone(pipelines);
    const panel = dataPanels(broken)[0];
    if (!panel) throw new Error("no panel");
    panel.datasource = { type: "prometheus", uid: "valkey" };
    expect(unresolvedDatasources(broken, provisioned)).toContainEqual(expect.stringContaining("not prometheus"));
  });

  test("extracts metric names, not functions, labels or keywords", () => {
    expect(
      metricNames(
        'sum by (confirmed_by) (increase(api_partial_publishes_total{x="a_b"}[$__rate_interval])) or on() vector(0)',
      ),
    ).toEqual(["api_partial_publishes_total"]);
    expect(metricNames("histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[1m])))")).toEqual(["x_seconds"]);
  });
});

test("README.md lists every panel of the pipelines dashboard", async () => {
  const docs = await Bun.file(join(ROOT, "README.md")).text();
  const missing = dataPanels(pipelines)
    .map((panel) => panel.title ?? "")
    .filter((title) => !docs.includes(`| ${title} |`));
  expect(missing).toEqual([]);
});
