export {
  buildPipelinesDashboard,
  PIPELINES_DASHBOARD_TITLE,
  PIPELINES_DASHBOARD_UID,
  STORE_KEYS,
} from "./dashboard.ts";
export { DATASOURCES, REDIS_PLUGIN_ID, STORES } from "./datasources.ts";
export { DASHBOARD_FILES, renderDashboardFiles } from "./files.ts";
