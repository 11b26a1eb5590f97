import { afterEach, describe, expect, test } from "bun:test";
import { encodeEnvelope } from "@weather/schema";
import { countedIds } from "@weather/store";
import {
  expectedCounts,
  type KafkaFixture,
  makeEnvelopes,
  type RabbitFixture,
  type SpawnedProcess,
  stopProcess,
  TestStore,
  waitFor,
} from "../../../test/support/index.ts";
import { pipelineCases, spawnConsumer } from "./helpers.ts";

/**
 * Replicas killed (-9), stopped (SIGTERM), added and removed while messages flow: every message
 * is counted exactly once. Messages are published in parts around each event, so the event
 * always lands mid-stream. Each scenario ends with every replica stopped and the broker's
 * backlog at zero, so nothing more can arrive when the counts are checked. DB 12 is this file's.
 */
const PART = 2000;

// A killed member's partitions wait for its session to expire: keep that short here.
const cases = pipelineCases(12, "test-resilience", {
  KAFKA_SESSION_TIMEOUT_MS: "6000",
  KAFKA_HEARTBEAT_INTERVAL_MS: "500",
});

describe.each(cases)("$name", ({ storeUrl, setup }) => {
  const store = new TestStore(storeUrl);
  let running: SpawnedProcess[] = [];
  let broker: RabbitFixture | KafkaFixture | undefined;

  afterEach(async () => {
    await Promise.all(running.map((r) => stopProcess(r, "SIGKILL")));
    running = [];
    await broker?.close();
  });

  /**
   * Publishes `parts` parts of PART messages; before each part after the first, `event` runs
   * (with the running replicas) once the store has counted something of the previous part.
   */
  type Event = (running: SpawnedProcess[], spawn: () => Promise<SpawnedProcess>) => Promise<void>;
  async function scenario(replicas: number, events: Event[]) {
    await store.reset();
    const fixture = setup();
    broker = fixture.broker;
    await broker.open();
    // Small batches so that an event lands while batches are in hand.
    const env = { ...fixture.env, STORE_URL: storeUrl, BATCH_MAX_SIZE: "50" };
    const spawn = () => spawnConsumer(env);
    running = await Promise.all(Array.from({ length: replicas }, spawn));
    const envelopes = makeEnvelopes(PART * (events.length + 1));
    const payloads = envelopes.map(encodeEnvelope);
    for (let part = 0; part <= events.length; part++) {
      if (part > 0) {
        // Some of the part just published is counted (or all of it, with fast consumers): the event
        // lands while that part or the next one is flowing.
        const before = (part - 1) * PART;
        await waitFor("some of the last part counted", async () => (await store.snapshot()).total >= before + 100);
        await (events[part - 1] as Event)(running, spawn);
      }
      await broker.publish(payloads.slice(part * PART, (part + 1) * PART));
    }
    if (running.length === 0) running.push(await spawnConsumer(env));
    await waitFor("every message counted", async () => (await store.snapshot()).total >= envelopes.length, {
      timeoutMs: 90_000,
    });
    const codes: number[] = [];
    for (const replica of running) codes.push(await stopProcess(replica)); // one at a time, as a rolling restart
    running = [];
    expect(codes.every((code) => code === 0)).toBe(true);
    expect(await broker.backlog(fixture.env.KAFKA_GROUP_ID)).toBe(0);

    const snapshot = await store.snapshot();
    const expected = expectedCounts(envelopes);
    expect(snapshot.total).toBe(envelopes.length);
    expect(snapshot.countries).toEqual(expected.countries);
    expect(snapshot.weathers).toEqual(expected.weathers);
    expect(
      (
        await countedIds(
          store.client,
          envelopes.map((e) => e.id),
        )
      ).size,
    ).toBe(envelopes.length);
    return { snapshot };
  }

  test("kill -9 of one of two replicas mid-stream, then a restart: nothing lost, nothing counted twice", async () => {
    await scenario(2, [
      async (replicas) => {
        const victim = replicas.shift() as SpawnedProcess;
        expect(await stopProcess(victim, "SIGKILL")).not.toBe(0);
      },
      async (replicas, spawn) => {
        replicas.push(await spawn());
      },
    ]);
  }, 180_000);

  test("SIGTERM mid-stream exits 0 within 10 s having settled its batch; after a restart nothing is lost or counted twice", async () => {
    const { snapshot } = await scenario(1, [
      async (replicas) => {
        const victim = replicas.shift() as SpawnedProcess;
        const startedAt = performance.now();
        expect(await stopProcess(victim, "SIGTERM")).toBe(0);
        expect(performance.now() - startedAt).toBeLessThan(10_000);
      },
    ]);
    // A clean stop acknowledges what it counted, so nothing was redelivered after counting.
    expect(snapshot.duplicates).toBe(0);
    expect(snapshot.replays).toBe(0);
  }, 180_000);

  test("replicas scaled 1 -> 2 -> 3 -> 1 mid-stream (a rebalance at each step): nothing lost, nothing counted twice", async () => {
    await scenario(1, [
      async (replicas, spawn) => {
        replicas.push(await spawn());
      },
      async (replicas, spawn) => {
        replicas.push(await spawn());
      },
      async (replicas) => {
        const leaving = replicas.splice(0, 2);
        expect(await Promise.all(leaving.map((r) => stopProcess(r)))).toEqual([0, 0]);
      },
    ]);
  }, 180_000);
});
