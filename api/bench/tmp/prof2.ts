import { Elysia } from "elysia";
import { buildTestApp } from "../../test/support/app.ts";
const body = '{"description":"Clima en GT 42","country":"GT","weather":"Nubloso"}';
const N = 200000;
async function time(name: string, fn: () => unknown) {
  for (let i = 0; i < 5000; i++) await fn();
  const t = performance.now();
  for (let i = 0; i < N; i++) await fn();
  console.log(name.padEnd(34), (((performance.now() - t) * 1000) / N).toFixed(2), "us/op");
}
const mk = () => new Request("http://x/process", { method: "POST", headers: { "content-type": "application/json" }, body });
const bare = new Elysia().post("/process", async ({ request, set }) => { await request.json(); set.status = 202; return { id: "x" }; }, { parse: "none" });
const withHooks = new Elysia().onRequest(() => {}).onAfterResponse(() => {}).onError(() => {}).post("/process", async ({ request, set }) => { await request.json(); set.status = 202; return { id: "x" }; }, { parse: "none" });
const { app } = buildTestApp({ keepMessages: false });
const echo = async (r: Request) => Response.json(await r.json(), { status: 202 });
for (let k = 0; k < 2; k++) {
await time("echo fn", () => echo(mk()));
await time("elysia bare", () => bare.handle(mk()));
await time("elysia + empty hooks", () => withHooks.handle(mk()));
await time("full app", () => app.handle(mk()));
}
