/**
 * Reads a Grafana dashboard (the JSON grafana/generate.ts writes) into the list of queries
 * its panels run, so tests can check each one against the data sources.
 */

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

interface Target {
  refId?: string;
  datasource?: DatasourceRef;
  expr?: string;
  type?: string;
  command?: string;
  keyName?: string;
  query?: string;
}

interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: DatasourceRef | null;
  targets?: Target[];
  panels?: Panel[];
}

export interface DashboardJson {
  uid: string;
  title: string;
  refresh?: string;
  panels?: Panel[];
}

export interface PanelQuery {
  panel: string;
  refId: string;
  datasource: DatasourceRef;
  target: Target;
}

/** Every panel that draws data (rows, including the panels of collapsed rows, are walked). */
export function dataPanels(dashboard: DashboardJson): Panel[] {
  const out: Panel[] = [];
  const walk = (panels: Panel[] | undefined) => {
    for (const panel of panels ?? []) {
      if (panel.type === "row") walk(panel.panels);
      else out.push(panel);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** Each target of each panel with the data source it runs on (its own, else its panel's). */
export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
  return dataPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      panel: panel.title ?? `panel ${panel.id}`,
      refId: target.refId ?? "?",
      datasource: target.datasource ?? panel.datasource ?? {},
      target,
    })),
  );
}

/**
 * Data source references that name no provisioned data source, or one of another type.
 * Returns one readable line per problem (empty when every reference resolves).
 */
export function unresolvedDatasources(dashboard: DashboardJson, provisioned: DatasourceRef[]): string[] {
  const byUid = new Map(provisioned.map((ds) => [ds.uid, ds.type]));
  const problems: string[] = [];
  const check = (where: string, ref: DatasourceRef | null | undefined) => {
    if (!ref) return;
    if (!ref.uid || !byUid.has(ref.uid)) problems.push(`${where}: no data source with uid ${JSON.stringify(ref.uid)}`);
    else if (ref.type && byUid.get(ref.uid) !== ref.type)
      problems.push(`${where}: data source ${ref.uid} is of type ${byUid.get(ref.uid)}, not ${ref.type}`);
  };
  for (const panel of dataPanels(dashboard)) {
    const name = panel.title ?? `panel ${panel.id}`;
    check(name, panel.datasource);
    for (const target of panel.targets ?? []) check(`${name} / ${target.refId}`, target.datasource);
  }
  return problems;
}

const PROMQL_KEYWORDS = new Set(["and", "or", "unless", "bool", "offset", "inf", "nan"]);

/** Metric names a PromQL expression reads (histogram suffixes removed), e.g. api_http_requests_total. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, "") // label values
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\[[^\]]*\]/g, "") // range selectors and their variables
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ""); // grouping label lists
  const names = new Set<string>();
  for (const match of bare.matchAll(/(?<![\w.])([a-zA-Z_:][\w:]*)\b(?!\s*\()/g)) {
    const name = match[1] ?? "";
    if (PROMQL_KEYWORDS.has(name.toLowerCase())) continue;
    names.add(name.replace(/_(bucket|sum|count)$/, ""));
  }
  return [...names];
}

/** Grafana's $__rate_interval is at least four scrape intervals; the native stack scrapes every 2 s. */
export function withGrafanaVariables(expr: string, rateInterval = "10s"): string {
  return expr.replaceAll("$__rate_interval", rateInterval);
}
