import { join } from "node:path";
import { buildPipelinesDashboard } from "./dashboard.ts";

/** Folder Grafana's file provider reads (grafana/provisioning/dashboards/dashboards.yml). */
export const DASHBOARDS_DIR = join(import.meta.dir, "..", "dashboards");

/** Every generated dashboard, by file name under grafana/dashboards/. */
export const DASHBOARD_FILES = {
  "weather-pipelines.json": buildPipelinesDashboard,
} as const;

/** The exact text of each dashboard file, as committed. */
export function renderDashboardFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, build] of Object.entries(DASHBOARD_FILES)) {
    files.set(join(DASHBOARDS_DIR, name), `${JSON.stringify(build(), null, 2)}\n`);
  }
  return files;
}
