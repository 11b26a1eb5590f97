import { buildTestApp } from "../../test/support/app.ts";
const body = '{"description":"Clima en GT 42","country":"GT","weather":"Nubloso"}';
const { app } = buildTestApp({ keepMessages: false });
for (const u of ["http://x/process", "http://api.test/process", "http://127.0.0.1:3000/process"]) {
  const r = await app.handle(new Request(u, { method: "POST", headers: { "content-type": "application/json" }, body }));
  console.log(u, r.status, await r.text());
}
