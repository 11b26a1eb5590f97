import { buildTestApp } from "../../test/support/app.ts";
const { app } = buildTestApp({ keepMessages: false });
const mode = process.env.MODE;
if (mode === "listen") app.listen({ port: 3911, hostname: "127.0.0.1" });
else if (mode === "fetch") Bun.serve({ port: 3911, hostname: "127.0.0.1", fetch: app.fetch });
else Bun.serve({ port: 3911, hostname: "127.0.0.1", fetch: (r) => app.handle(r) });
