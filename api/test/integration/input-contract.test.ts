import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { parseEnvelope } from "@weather/schema";
import Valkey from "iovalkey";
import { stack } from "../../../test/support/index.ts";
import { brokerCounts, readQueue, readTopic } from "../support/brokers.ts";
import { rawHttp, type SpawnedApi, spawnApi } from "../support/spawned-api.ts";

/**
 * The table, row by row, against the API running as a process on the real
 * brokers: each request gets the exact status and error code, and afterwards the
 * API's queue and topic hold exactly the accepted messages (nothing of a refused one).
 */

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const encoder = new TextEncoder();
const json = (value: unknown) => JSON.stringify(value);
const message = (fields: Record<string, unknown> = {}) => ({
  description: "Está lloviendo",
  country: "GT",
  weather: "Lluvioso",
  id: crypto.randomUUID(),
  ...fields,
});

async function send(api: SpawnedApi, init: RequestInit & { path?: string }): Promise<Answer> {
  const response = await fetch(`${api.base}${init.path ?? "/process"}`, { method: "POST", ...init });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { status: response.status, headers, body: await response.text() };
}
const sendJson = (api: SpawnedApi, body: BodyInit, contentType = "application/json") =>
  send(api, { headers: { "content-type": contentType }, body });

/** A body of unknown length: fetch sends it with Transfer-Encoding: chunked. */
function chunked(...parts: Uint8Array<ArrayBuffer>[]): ReadableStream<Uint8Array<ArrayBuffer>> {
  return new ReadableStream({
    pull(controller) {
      const part = parts.shift();
      if (part === undefined) controller.close();
      else controller.enqueue(part);
    },
  });
}

/** JSON text of a message with raw bytes in the middle of its description. */
function withBytes(bytes: number[], id: string): Uint8Array<ArrayBuffer> {
  const [before, after] = json(message({ description: "Est@ lloviendo", id })).split("@") as [string, string];
  return new Uint8Array([...encoder.encode(before), ...bytes, ...encoder.encode(after)]);
}

const rawPost = (api: SpawnedApi, head: string, body: string) =>
  rawHttp(
    api.port,
    `POST /process HTTP/1.1\r\n${head}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );

interface Row {
  /** The request, as in the table. */
  request: string;
  /** Sends it; returns every answer (most rows send one request). */
  send: (api: SpawnedApi, ids: { refused: string[]; accepted: string[] }) => Promise<Answer[]>;
  status: number;
  error?: string;
  /** Further expectations on each answer. */
  check?: (answer: Answer) => void;
}

/** Refused requests carry a fresh id of their own, so that their absence can be checked afterwards. */
const refusedId = (ids: { refused: string[] }) => {
  const id = crypto.randomUUID();
  ids.refused.push(id);
  return id;
};
const acceptedId = (ids: { accepted: string[] }, id: string = crypto.randomUUID()) => {
  ids.accepted.push(id.toLowerCase());
  return id;
};

const emoji = "🌧";
const ROWS: Row[] = [
  {
    request: "invalid UTF-8 bytes in a body with Content-Length",
    send: async (api, ids) => [await sendJson(api, withBytes([0xe9, 0x20], refusedId(ids)))],
    status: 400,
    error: "malformed_json",
  },
  {
    request: "invalid UTF-8 bytes in a chunked body",
    send: async (api, ids) => [await sendJson(api, chunked(withBytes([0xff], refusedId(ids))))],
    status: 400,
    error: "malformed_json",
  },
  {
    request: "10 MB body with Content-Length",
    send: async (api, ids) => {
      const body = json(message({ id: refusedId(ids) }));
      return [await sendJson(api, body + " ".repeat(10_000_000 - body.length))];
    },
    status: 413,
    error: "payload_too_large",
  },
  {
    request: "2 MB chunked body",
    send: async (api, ids) => {
      const head = encoder.encode(json(message({ id: refusedId(ids) })));
      const padding = Array.from({ length: 32 }, () => encoder.encode(" ".repeat(65536)));
      return [await sendJson(api, chunked(head, ...padding))];
    },
    status: 413,
    error: "payload_too_large",
  },
  {
    request: "an id sent again in upper case (both answered with the lower-case id)",
    send: async (api, ids) => {
      const id = crypto.randomUUID();
      acceptedId(ids, id);
      acceptedId(ids, id);
      const answers = [
        await sendJson(api, json(message({ id }))),
        await sendJson(api, json(message({ id: id.toUpperCase() }))),
      ];
      for (const answer of answers) expect(JSON.parse(answer.body)).toEqual({ id });
      return answers;
    },
    status: 202,
  },
  {
    request: "Host: api (no port), valid body",
    send: async (api, ids) => [await rawPost(api, "Host: api\r\n", json(message({ id: acceptedId(ids) })))],
    status: 202,
  },
  {
    request: "Host: x (one character), valid body",
    send: async (api, ids) => [await rawPost(api, "Host: x\r\n", json(message({ id: acceptedId(ids) })))],
    status: 202,
  },
  {
    request: "HTTP/1.0 without Host, valid batch",
    send: async (api, ids) => {
      const body = json([message({ id: acceptedId(ids) })]);
      const request = `POST /process/batch HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      return [await rawHttp(api.port, request)];
    },
    status: 202,
  },
  {
    request: "280 emoji as description",
    send: async (api, ids) => [
      await sendJson(api, json(message({ description: emoji.repeat(280), id: acceptedId(ids) }))),
    ],
    status: 202,
  },
  {
    request: "281 emoji as description",
    send: async (api, ids) => [
      await sendJson(api, json(message({ description: emoji.repeat(281), id: refusedId(ids) }))),
    ],
    status: 400,
    error: "validation",
    check: (answer) =>
      expect(JSON.parse(answer.body).details).toEqual([
        { field: "/description", rule: "Must be at most 280 characters (Unicode code points), got 281" },
      ]),
  },
  {
    request: "TRACE /process",
    send: async (api) => [
      await rawHttp(api.port, `TRACE /process HTTP/1.1\r\nHost: 127.0.0.1:${api.port}\r\nConnection: close\r\n\r\n`),
    ],
    status: 405,
    error: "method_not_allowed",
    check: (answer) => expect(answer.headers.allow).toBe("POST"),
  },
  {
    request: "PUT /process with a valid body",
    send: async (api, ids) => [await send(api, { method: "PUT", body: json(message({ id: refusedId(ids) })) })],
    status: 405,
    error: "method_not_allowed",
    check: (answer) => expect(answer.headers.allow).toBe("POST"),
  },
  {
    request: "application/json; charset=iso-8859-1 with Latin-1 bytes",
    send: async (api, ids) => [
      await sendJson(api, withBytes([0xe1], refusedId(ids)), "application/json; charset=iso-8859-1"),
    ],
    status: 415,
    error: "unsupported_media_type",
  },
  {
    request: 'application/json; charset="UTF-8" (quoted, upper case) is UTF-8',
    send: async (api, ids) => [
      await sendJson(api, json(message({ id: acceptedId(ids) })), 'application/json; charset="UTF-8"'),
    ],
    status: 202,
  },
  {
    request: '"\\u0000" in a field',
    send: async (api, ids) => [await sendJson(api, json(message({ description: "a\u0000b", id: refusedId(ids) })))],
    status: 400,
    error: "validation",
    check: (answer) => expect(JSON.parse(answer.body).details[0]).toMatchObject({ field: "/description" }),
  },
  {
    request: "a lone surrogate in a field",
    send: async (api, ids) => [await sendJson(api, json(message({ country: "G\ud800T", id: refusedId(ids) })))],
    status: 400,
    error: "validation",
    check: (answer) => expect(JSON.parse(answer.body).details[0]).toMatchObject({ field: "/country" }),
  },
  {
    request: "a carriage return in a field",
    send: async (api, ids) => [await sendJson(api, json(message({ description: "a\r\nb", id: refusedId(ids) })))],
    status: 400,
    error: "validation",
    check: (answer) => expect(JSON.parse(answer.body).details[0]).toMatchObject({ field: "/description" }),
  },
];

describe("every bad request gets the documented answer over the wire, real brokers", () => {
  let api: SpawnedApi;
  const ids = { refused: [] as string[], accepted: [] as string[] };

  beforeAll(async () => {
    api = await spawnApi();
  }, 60_000);
  afterAll(async () => {
    await api?.stop();
  });

  test.each(ROWS.map((row) => [row.request, row] as const))(
    "%s",
    async (_, row) => {
      const answers = await row.send(api, ids);
      for (const answer of answers) {
        expect({ status: answer.status, contentType: answer.headers["content-type"] }).toEqual({
          status: row.status,
          contentType: "application/json;charset=utf-8",
        });
        if (row.error !== undefined) expect(JSON.parse(answer.body).error).toBe(row.error);
        row.check?.(answer);
      }
    },
    30_000,
  );

  test("the queue and the topic hold exactly the accepted messages; no refused id reached a store", async () => {
    const accepted = [...ids.accepted].sort();
    expect(accepted).toHaveLength(7);

    // 202 comes after both brokers confirmed, so every published message is already there.
    expect(await brokerCounts(api.queue, api.topic)).toEqual({ queue: accepted.length, topic: accepted.length });

    const fromQueue = await readQueue(api.queue, accepted.length);
    const fromTopic = await readTopic(api.topic, accepted.length);
    expect(fromQueue.map((m) => m.messageId).sort()).toEqual(accepted);
    expect(fromTopic.map((m) => m.key).sort()).toEqual(accepted);
    const descriptions = fromQueue.map((m) => (parseEnvelope(m.content) as { value: { description: string } }).value);
    expect(descriptions.some((e) => e.description === emoji.repeat(280))).toBe(true);

    for (const url of [stack.VALKEY_URL, stack.REDIS_URL]) {
      const store = new Valkey(url ?? "", { maxRetriesPerRequest: 2 });
      try {
        expect(await store.exists(...ids.refused.map((id) => `seen:${id}`))).toBe(0);
      } finally {
        store.disconnect();
      }
    }
  }, 60_000);

  test("both oversize answers are counted as 413, none as 500, and nothing was logged as unhandled", async () => {
    const metrics = await (await fetch(`${api.base}/metrics`)).text();
    const requests = metrics.split("\n").filter((line) => line.startsWith("api_http_requests_total{"));
    expect(requests).toContain('api_http_requests_total{route="/process",method="POST",status="413"} 2');
    expect(requests.filter((line) => line.includes('status="500"'))).toEqual([]);
    expect(api.logs.filter((line) => line.includes("unhandled error"))).toEqual([]);
  });
});
