import { openapi } from "@elysia/openapi";
import { Elysia } from "elysia";
import { version } from "../../package.json";
import { componentSchemas } from "../ingest/openapi.ts";

const ASSETS_PREFIX = "/swagger/assets";
// Swagger UI's bundle and stylesheet come from the swagger-ui-dist package and are
// served by the API itself: the plugin's default is a CDN, and the page must work offline.
const assets: Record<string, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
};

function resolveAssetDir(): string {
  return Bun.resolveSync("swagger-ui-dist/package.json", import.meta.dir).replace(/\/package\.json$/, "");
}

/** Swagger UI at /swagger and the OpenAPI document at /swagger/json. */
export function docsController() {
  const dir = resolveAssetDir();
  const app = new Elysia({ name: "docs" });
  for (const [file, type] of Object.entries(assets)) {
    app.get(
      `${ASSETS_PREFIX}/${file}`,
      () => new Response(Bun.file(`${dir}/${file}`), { headers: { "content-type": type } }),
      {
        detail: { hide: true },
      },
    );
  }
  return app.use(
    openapi({
      path: "/swagger",
      provider: "swagger-ui",
      exclude: { paths: [/^\/swagger/] },
      documentation: {
        info: {
          title: "Weather tweets ingest API",
          version,
          description:
            "Accepts weather messages and publishes each one to RabbitMQ and Kafka; 202 means both brokers confirmed it.",
        },
        tags: [
          { name: "ingest", description: "Messages into both pipelines" },
          { name: "operations", description: "Health, readiness and metrics" },
        ],
        components: { schemas: componentSchemas as never },
      },
      swagger: {
        cdn: `${ASSETS_PREFIX}/swagger-ui-bundle.js`,
        theme: `${ASSETS_PREFIX}/swagger-ui.css`,
      },
    }),
  );
}
