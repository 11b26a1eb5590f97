import { expect } from "bun:test";
import type { FaultResult } from "../../bench/src/faults/run.ts";
import { PIPELINES } from "../../bench/src/stores.ts";

/**
 * What every fault case must show, in both stores, counted exactly: every message the client sent
 * was acknowledged in the end (it retries a 503 with the same id), none lost, none counted twice,
 * the per-country counts exact, nothing left at the brokers, the stores equal, and every service
 * ready again within 60 s of the fault's end.
 */
export function expectExactlyOnce(result: FaultResult, sent: number): void {
  expect(result.sent).toBe(sent);
  for (const pipeline of PIPELINES) {
    const verdict = result.pipelines[pipeline];
    expect({ pipeline, acknowledged: verdict.acknowledged }).toEqual({ pipeline, acknowledged: sent });
    expect({ pipeline, lost: verdict.lost, countedTwice: verdict.countedTwice }).toEqual({
      pipeline,
      lost: 0,
      countedTwice: 0,
    });
    expect({ pipeline, counted: verdict.counted, countriesExact: verdict.countriesExact }).toEqual({
      pipeline,
      counted: sent,
      countriesExact: true,
    });
    expect({ pipeline, backlogLeft: verdict.backlogLeft }).toEqual({ pipeline, backlogLeft: 0 });
  }
  expect(result.storesEqual).toBe(true);
  expect(result.recoveredS).not.toBeNull();
  expect(result.recoveredS as number).toBeLessThanOrEqual(60);
}
