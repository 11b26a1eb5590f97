import { buildTestApp } from "/work/main/api/test/support/app.ts";
import { normalizeMessage, createEnvelope, encodeEnvelope } from "@weather/schema";
const body = '{"description":"Clima en GT 42","country":"GT","weather":"Nubloso"}';
const N = 100000;
async function time(name: string, fn: () => unknown) {
  for (let i = 0; i < 2000; i++) await fn();
  const t = performance.now();
  for (let i = 0; i < N; i++) await fn();
  const us = ((performance.now() - t) * 1000) / N;
  console.log(name.padEnd(30), us.toFixed(2), "us/op");
}
const { app } = buildTestApp({ keepMessages: false });
const mk = () => new Request("http://x/process", { method: "POST", headers: { "content-type": "application/json" }, body });
await time("new Request", () => mk());
await time("request.json", () => mk().json());
await time("request.arrayBuffer+parse", async () => JSON.parse(new TextDecoder().decode(await mk().arrayBuffer())));
await time("normalize", () => normalizeMessage(JSON.parse(body)));
await time("envelope+encode", () => Buffer.from(encodeEnvelope(createEnvelope({description:"a",country:"b",weather:"Nublado"}))));
await time("app.handle /process", () => app.handle(mk()));
await time("app.handle /healthz", () => app.handle(new Request("http://x/healthz")));
