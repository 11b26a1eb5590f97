import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Browser } from "playwright-core";
import { launchChromium } from "../../../test/support/browser.ts";
import { buildTestApp } from "../support/app.ts";

// The page is served by a real listener (the browser needs one) over the same app
// the other tests drive with app.handle; the brokers are not involved in rendering.
let server: ReturnType<typeof Bun.serve>;
let browser: Browser;

beforeAll(async () => {
  const { app } = buildTestApp();
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => app.handle(request) });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  server?.stop(true);
});

test("Swagger UI renders /process and its schema with every outside request blocked", async () => {
  const page = await browser.newPage();
  const blocked: string[] = [];
  await page.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1") return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  const response = await page.goto(`http://127.0.0.1:${server.port}/swagger`);
  expect(response?.status()).toBe(200);

  const operation = page
    .locator("#operations-ingest-postProcess, .opblock-post:has(.opblock-summary-path[data-path='/process'])")
    .first();
  await operation.waitFor({ state: "visible", timeout: 20000 });
  await operation.locator(".opblock-summary").first().click();
  const body = operation.locator(".opblock-body");
  await body.waitFor({ state: "visible", timeout: 10000 });
  // The request body example and the responses table come from the shared schema.
  expect(await body.locator(".microlight").first().textContent()).toContain("Lluvioso");
  for (const status of ["202", "400", "413", "415", "503"]) {
    expect(await body.locator(`tr.response[data-code='${status}']`).count()).toBe(1);
  }
  // Switch from the example to the schema view: the fields of WeatherMessageInput are shown.
  await body.locator("button[data-name='model']").first().click();
  const model = body.locator(".model-box").first();
  await model.waitFor({ state: "visible", timeout: 10000 });
  for (const expandable of await model.locator(".model-toggle.collapsed").all()) await expandable.click();
  const text = (await model.textContent()) ?? "";
  for (const field of ["description", "country", "weather", "id"]) expect(text).toContain(field);

  expect(blocked).toEqual([]);
  await page.close();
}, 60_000);
