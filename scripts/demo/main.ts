/**
 * `make demo`: starts the native stack (scripts/services.sh via scripts/dev.sh), sends 10,000
 * messages through the API, follows both pipelines until they have counted everything, and
 * prints them side by side. Stops what it started unless KEEP=1.
 *
 * Env: MESSAGES (10000), CONCURRENCY (64), DRAIN_TIMEOUT_S (120), KEEP (0), plus the stack's
 * settings (.env.example / .env): API_PORT, VALKEY_URL, REDIS_URL, ...
 */

import { sleep, waitFor } from "@weather/async";
import { loadStackConfig } from "@weather/config";
import { readSnapshot, type StoreSnapshot } from "@weather/store";
import Valkey from "iovalkey";
import { BrokerAdmin } from "../../bench/src/brokers.ts";
import { sendMessages } from "./load.ts";
import { delta, type PipelineRun, renderTable } from "./report.ts";
import { portOpen, run } from "./stack.ts";

const { env } = process;
const stack = loadStackConfig();
const MESSAGES = Number(env.MESSAGES ?? 10_000);
const CONCURRENCY = Number(env.CONCURRENCY ?? 64);
const DRAIN_TIMEOUT_MS = Number(env.DRAIN_TIMEOUT_S ?? 120) * 1000;
const KEEP = env.KEEP === "1" || env.KEEP === "true";
const apiUrl = `http://127.0.0.1:${stack.API_PORT}`;
const say = (text: string) => process.stdout.write(`[demo] ${text}\n`);

// What runs already stays running afterwards; only what this demo starts is stopped.
const servicesWereUp = await portOpen(Number(new URL(stack.RABBITMQ_URL).port));
const appWasUp = await portOpen(stack.API_PORT);

let exitCode = 0;
const valkey = new Valkey(stack.VALKEY_URL, { lazyConnect: true });
const redis = new Valkey(stack.REDIS_URL, { lazyConnect: true });
try {
  say("starting the native stack and the application (scripts/dev.sh up)...");
  await run(["bash", "scripts/dev.sh", "up"], env);
  await Promise.all([valkey.connect(), redis.connect()]);
  const before = { valkey: await readSnapshot(valkey), redis: await readSnapshot(redis) };

  say(`sending ${MESSAGES.toLocaleString("en-US")} messages to ${apiUrl}/process, ${CONCURRENCY} at a time`);
  const startedAt = performance.now();
  const drained: { valkey?: number; redis?: number } = {};
  let latest = { valkey: before.valkey, redis: before.redis };
  let accepted = 0;
  let sent = 0;
  // A terminal gets one line rewritten in place; a log (CI, a pipe) gets a new line each second.
  const interactive = process.stdout.isTTY === true;
  let shownAt = 0;
  const show = (final = false) => {
    const line = `[demo] sent ${sent}/${MESSAGES}  accepted ${accepted}  counted: Valkey ${latest.valkey.total - before.valkey.total}  Redis ${latest.redis.total - before.redis.total}`;
    if (interactive) process.stdout.write(`\r${line}   `);
    else if (final || performance.now() - shownAt >= 1000) {
      shownAt = performance.now();
      process.stdout.write(`${line}\n`);
    }
  };
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      latest = { valkey: await readSnapshot(valkey), redis: await readSnapshot(redis) };
      const now = performance.now() - startedAt;
      if (sent === MESSAGES) {
        if (drained.valkey === undefined && latest.valkey.total - before.valkey.total >= accepted) drained.valkey = now;
        if (drained.redis === undefined && latest.redis.total - before.redis.total >= accepted) drained.redis = now;
      }
      show();
      await sleep(50);
    }
  })();
  const load = await sendMessages(apiUrl, MESSAGES, CONCURRENCY, (result, count) => {
    accepted = result.accepted;
    sent = count;
  });
  await waitFor("both pipelines caught up", () => drained.valkey !== undefined && drained.redis !== undefined, {
    timeoutMs: DRAIN_TIMEOUT_MS,
    intervalMs: 50,
  }).catch(() => {}); // the table then shows what is missing
  // The counts are final once neither broker holds anything for the consumers: the queue is empty
  // and the Kafka group has committed everything (a delivery still unacknowledged was counted,
  // and its redelivery would be recognised, not counted again).
  const admin = new BrokerAdmin(stack.RABBITMQ_URL, stack.KAFKA_BROKERS);
  await waitFor(
    "both brokers drained",
    async () =>
      (await admin.queueDepth(stack.RABBITMQ_QUEUE)) === 0 &&
      (await admin.groupLag(stack.KAFKA_TOPIC, "kafka-consumer")) === 0,
    { timeoutMs: DRAIN_TIMEOUT_MS, intervalMs: 200 },
  ).catch(() => {});
  watching = false;
  await watcher;
  if (!interactive) show(true);
  process.stdout.write("\n\n");

  const runOf = (after: StoreSnapshot, start: StoreSnapshot, ms: number | undefined): PipelineRun => ({
    counted: delta(after, start),
    drainedAfterMs: ms,
  });
  const valkeyRun = runOf(await readSnapshot(valkey), before.valkey, drained.valkey);
  const redisRun = runOf(await readSnapshot(redis), before.redis, drained.redis);
  console.log(renderTable(load, valkeyRun, redisRun));
  const exact = [valkeyRun, redisRun].every(
    (r) => r.counted.total === load.accepted && countsMatch(r.counted.countries, load.countries),
  );
  say(
    exact
      ? `both stores counted exactly the ${load.accepted.toLocaleString("en-US")} accepted messages, per country too`
      : "MISMATCH: a store's counts differ from what the API accepted (see the table)",
  );
  if (load.rejected > 0) say(`${load.rejected} requests were not accepted by the API`);
  if (!exact) exitCode = 1;
} catch (error) {
  say(`failed: ${(error as Error).message}`);
  exitCode = 1;
} finally {
  valkey.disconnect();
  redis.disconnect();
  if (KEEP) {
    say("KEEP=1: leaving everything running (make dev-down, make services-down to stop)");
  } else {
    if (!appWasUp) await run(["bash", "scripts/dev.sh", "down"], env).catch(() => {});
    if (!servicesWereUp) await run(["bash", "scripts/services.sh", "down"], env).catch(() => {});
    if (appWasUp || servicesWereUp) say("left running what was already running before the demo");
  }
}
process.exit(exitCode);

function countsMatch(counted: Record<string, number>, sentCounts: Record<string, number>): boolean {
  const keys = new Set([...Object.keys(counted).filter((k) => counted[k] !== 0), ...Object.keys(sentCounts)]);
  return [...keys].every((k) => (counted[k] ?? 0) === (sentCounts[k] ?? 0));
}
