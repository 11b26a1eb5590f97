import { join } from "node:path";
import type { DashboardJson, DatasourceRef } from "./dashboard.ts";

export const ROOT = join(import.meta.dir, "..", "..", "..");

export async function readYaml<T>(relativePath: string): Promise<T> {
  return Bun.YAML.parse(await Bun.file(join(ROOT, relativePath)).text()) as T;
}

export async function provisionedDatasources(): Promise<(DatasourceRef & { url?: string })[]> {
  const file = await readYaml<{ datasources: (DatasourceRef & { url?: string })[] }>(
    "grafana/provisioning/datasources/datasources.yml",
  );
  return file.datasources;
}

/** The committed dashboards (what Grafana loads), by file name. */
export async function committedDashboards(): Promise<Map<string, DashboardJson>> {
  const dir = join(ROOT, "grafana", "dashboards");
  const out = new Map<string, DashboardJson>();
  for (const name of new Bun.Glob("*.json").scanSync(dir)) {
    out.set(name, (await Bun.file(join(dir, name)).json()) as DashboardJson);
  }
  return out;
}
