import { buildTestApp } from "../../test/support/app.ts";
const body = '{"description":"Clima en GT 42","country":"GT","weather":"Nubloso"}';
const mk = () => new Request("http://api.test/process", { method: "POST", headers: { "content-type": "application/json" }, body });
const { app } = buildTestApp({ keepMessages: false });
for (let i = 0; i < 300000; i++) await app.handle(mk());
