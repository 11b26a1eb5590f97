import { unlinkSync } from "node:fs";
import type { Subprocess } from "bun";
import { prepareMessages } from "./messages.ts";
import { type HttpLoadResult, summariseRequests } from "./summary.ts";

export interface VegetaOptions {
  bin: string;
  url: string;
  /** Messages per second; requests per second is this over messagesPerRequest. */
  ratePerS: number;
  durationS: number;
  /** 1: POST /process; more: POST /process/batch with that many messages per request. */
  messagesPerRequest?: number;
  maxWorkers: number;
  /** Files of this run: targets, raw results (removed after decoding) and the per-request CSV kept. */
  filePrefix: string;
  /** Called with the attack process as soon as it runs (CPU and memory accounting). */
  onSpawn?: (child: Subprocess) => void;
}

/** Parses vegeta's RFC 3339 timestamp keeping its nanoseconds (Date keeps only milliseconds). */
function timestampNs(text: string): bigint {
  const dot = text.indexOf(".");
  const whole = dot === -1 ? text.replace("Z", "") : text.slice(0, dot);
  const fraction = dot === -1 ? "" : text.slice(dot + 1, text.length - 1);
  return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(fraction.padEnd(9, "0").slice(0, 9) || "0");
}

/**
 * Open-loop constant-rate load with vegeta: request `seq` is due at start + seq / rate,
 * and its latency is counted from that due time (vegeta's own figure starts when a
 * worker picked it up, which hides queueing in the generator when it falls behind).
 */
export async function runVegeta(options: VegetaOptions): Promise<HttpLoadResult> {
  const targetsFile = `${options.filePrefix}targets.jsonl`;
  const resultsFile = `${options.filePrefix}results.bin`;
  const m = options.messagesPerRequest ?? 1;
  const requestRate = Math.max(1, Math.round(options.ratePerS / m));
  const url = m === 1 ? options.url : `${options.url}/batch`;
  const messages = prepareMessages();
  const bodies =
    m === 1
      ? messages.map((message) => message.body)
      : Array.from({ length: 256 }, (_, i) => {
          const batch = Array.from({ length: m }, (_, j) => messages[(i * m + j) % messages.length]?.body);
          return `[${batch.join(",")}]`;
        });
  const targets = bodies.map((body) =>
    JSON.stringify({
      method: "POST",
      url,
      header: { "Content-Type": ["application/json"] },
      body: Buffer.from(body).toString("base64"),
    }),
  );
  await Bun.write(targetsFile, `${targets.join("\n")}\n`);
  const attack = Bun.spawn(
    [
      options.bin,
      "attack",
      "-format=json",
      `-targets=${targetsFile}`,
      `-rate=${requestRate}/s`,
      `-duration=${options.durationS}s`,
      `-max-workers=${options.maxWorkers}`,
      "-workers=200",
      "-timeout=30s",
      "-http2=false",
      `-output=${resultsFile}`,
    ],
    { stdout: "ignore", stderr: "pipe" },
  );
  options.onSpawn?.(attack);
  const code = await attack.exited;
  if (code !== 0) throw new Error(`vegeta attack failed (${code}): ${await new Response(attack.stderr).text()}`);

  const encode = Bun.spawn([options.bin, "encode", "--to", "json", resultsFile], { stdout: "pipe", stderr: "pipe" });
  const rows: { seq: number; tsNs: bigint; latencyNs: number; code: number; error: string }[] = [];
  let buffered = "";
  const decoder = new TextDecoder();
  const reader = encode.stdout.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    buffered += decoder.decode(chunk.value, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline !== -1) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line) {
        const r = JSON.parse(line) as { seq: number; timestamp: string; latency: number; code: number; error: string };
        rows.push({ seq: r.seq, tsNs: timestampNs(r.timestamp), latencyNs: r.latency, code: r.code, error: r.error });
      }
      newline = buffered.indexOf("\n");
    }
  }
  if ((await encode.exited) !== 0) throw new Error(`vegeta encode failed: ${await new Response(encode.stderr).text()}`);
  unlinkSync(resultsFile);
  unlinkSync(targetsFile);

  let startNs = rows[0]?.tsNs ?? 0n;
  for (const row of rows) if (row.seq === 0 || row.tsNs < startNs) startNs = row.tsNs;
  const intervalNs = 1e9 / requestRate;
  const requests = rows.map((row) => {
    const dueOffsetMs = (row.seq * intervalNs) / 1e6;
    const sentOffsetMs = Number(row.tsNs - startNs) / 1e6;
    const latencyMs = row.latencyNs / 1e6;
    return {
      dueOffsetMs,
      // Response time counted from the due time: any delay before sending is included.
      latencyMs: Math.max(latencyMs, sentOffsetMs + latencyMs - dueOffsetMs),
      status: row.code === 0 ? `error:${row.error.split(":").pop()?.trim() ?? "unknown"}` : String(row.code),
      ok: row.code >= 200 && row.code < 300,
    };
  });
  return summariseRequests(requests, {
    targetRatePerS: requestRate * m,
    durationS: options.durationS,
    generator: "vegeta",
    messagesPerRequest: m,
  });
}
