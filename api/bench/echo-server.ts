/** The baseline: a bare Bun.serve that parses a JSON body and echoes it back. */
const port = Number(process.env.PORT ?? 3901);
Bun.serve({
  port,
  hostname: "127.0.0.1",
  async fetch(request) {
    if (request.method !== "POST") return new Response("ok");
    return Response.json(await request.json(), { status: 202 });
  },
});
console.log(`echo listening on ${port}`);
