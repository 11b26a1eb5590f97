/**
 * The framework's share: Elysia with one POST route that parses the JSON body and answers 202 with
 * it, served as the API is (Bun.serve calling app.handle). Between the bare echo and the stubbed API
 * in `make bench-api`, it separates what Elysia costs from what the API's own work costs.
 */
import { Elysia } from "elysia";

const port = Number(process.env.PORT ?? 3903);
const app = new Elysia().post("/process", ({ body, set }) => {
  set.status = 202;
  return body as Record<string, unknown>;
});
Bun.serve({ port, hostname: "127.0.0.1", fetch: (request) => app.handle(request) });
console.log(`elysia echo listening on ${port}`);
