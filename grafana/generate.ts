/**
 * Writes the dashboards under grafana/dashboards/ from the TypeScript in grafana/src.
 *   bun grafana/generate.ts          write the files
 *   bun grafana/generate.ts --check  exit 1 if a committed file differs from the generator's output
 */
import { renderDashboardFiles } from "./src/files.ts";

const check = process.argv.includes("--check");
let stale = 0;
for (const [path, text] of renderDashboardFiles()) {
  const file = Bun.file(path);
  const current = (await file.exists()) ? await file.text() : null;
  if (current === text) continue;
  if (check) {
    console.error(`${path} is out of date: run \`make dashboards\``);
    stale++;
  } else {
    await Bun.write(path, text);
    console.log(`wrote ${path}`);
  }
}
if (stale > 0) process.exit(1);
