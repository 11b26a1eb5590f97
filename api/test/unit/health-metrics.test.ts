import { describe, expect, test } from "bun:test";
import { waitFor } from "@weather/async";
import { buildTestApp, post, validMessage } from "../support/app.ts";

const get = (path: string) => new Request(`http://api.test${path}`);

describe("health, readiness and metrics", () => {
  test("/healthz is 200 even with brokers down", async () => {
    const { app, rabbitmq, kafka } = buildTestApp();
    rabbitmq.up = false;
    kafka.up = false;
    expect((await app.handle(get("/healthz"))).status).toBe(200);
  });

  test("/readyz is 200 only with both brokers up and not shutting down", async () => {
    const { app, kafka, lifecycle } = buildTestApp();
    const ready = await app.handle(get("/readyz"));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, dependencies: { rabbitmq: "up", kafka: "up" } });
    kafka.up = false;
    const down = await app.handle(get("/readyz"));
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ ready: false, dependencies: { kafka: "down" } });
    kafka.up = true;
    lifecycle.shuttingDown = true;
    expect((await app.handle(get("/readyz"))).status).toBe(503);
  });

  test("/metrics counts requests by route and status, accepted messages and publish latency", async () => {
    const { app } = buildTestApp();
    await app.handle(post("/process", validMessage));
    await app.handle(post("/process", validMessage));
    await app.handle(post("/process", { ...validMessage, weather: "?" }));
    await app.handle(post("/process/batch", [validMessage, validMessage]));
    // onAfterResponse runs after the response is handed back: wait until the last request is recorded.
    const last = 'api_http_requests_total{route="/process/batch",method="POST",status="202"} 1';
    const text = await waitFor("the last request recorded", async () => {
      const body = await (await app.handle(get("/metrics"))).text();
      return body.includes(last) ? body : undefined;
    });
    const response = await app.handle(get("/metrics"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("text/plain");
    expect(text).toContain('api_http_requests_total{route="/process",method="POST",status="202"} 2');
    expect(text).toContain('api_http_requests_total{route="/process",method="POST",status="400"} 1');
    expect(text).toContain('api_http_requests_total{route="/process/batch",method="POST",status="202"} 1');
    expect(text).toContain('api_http_request_duration_seconds_count{route="/process"} 3');
    expect(text).toContain("api_messages_accepted_total 4");
    expect(text).toContain('api_broker_publish_duration_seconds_count{broker="kafka"} 3');
    expect(text).toContain('api_broker_publish_duration_seconds_count{broker="rabbitmq"} 3');
    expect(text).toMatch(/api_http_requests_in_flight \d/);
    expect(text).toContain('api_partial_publishes_total{confirmed_by="kafka"} 0');
    expect(text).toContain('api_broker_up{broker="rabbitmq"}');
  });
});

describe("OpenAPI", () => {
  test("/swagger/json documents /process from the shared schema with every response code", async () => {
    const { app } = buildTestApp();
    const response = await app.handle(get("/swagger/json"));
    expect(response.status).toBe(200);
    const spec = (await response.json()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody: unknown }>>;
      components: { schemas: Record<string, { properties?: Record<string, { anyOf?: { const: string }[] }> }> };
    };
    const operation = spec.paths["/process"]?.post;
    expect(operation).toBeDefined();
    expect(Object.keys(operation?.responses ?? {}).sort()).toEqual(["202", "400", "413", "415", "503"]);
    expect(Object.keys(spec.paths["/process/batch"]?.post?.responses ?? {}).sort()).toEqual([
      "202",
      "400",
      "413",
      "415",
      "503",
    ]);
    const input = spec.components.schemas.WeatherMessageInput;
    expect(Object.keys(input?.properties ?? {}).sort()).toEqual(["country", "description", "id", "weather"]);
    expect(input?.properties?.weather?.anyOf?.map((v) => v.const)).toContain("Nubloso");
    expect(JSON.stringify(operation?.requestBody)).toContain("Está lloviendo");
  });

  test("/swagger serves Swagger UI whose assets come from the API itself", async () => {
    const { app } = buildTestApp();
    const html = await (await app.handle(get("/swagger"))).text();
    expect(html).toContain("/swagger/assets/swagger-ui-bundle.js");
    expect(html).not.toMatch(/https?:\/\/(unpkg|cdn)/);
    const bundle = await app.handle(get("/swagger/assets/swagger-ui-bundle.js"));
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
    expect((await app.handle(get("/swagger/assets/swagger-ui.css"))).status).toBe(200);
  });
});
