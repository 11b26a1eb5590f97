import { describe, expect, test } from "bun:test";
import { Backoff, retry, settleWithin, TimeoutError, waitFor, withTimeout } from "../src/index.ts";

describe("Backoff", () => {
  test("grows exponentially, never below half its step, never above the cap", () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1000 });
    const steps = [100, 200, 400, 800, 1000, 1000];
    for (const step of steps) {
      const delay = backoff.next();
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
    }
    expect(backoff.attempt).toBe(steps.length);
  });

  test("jitter spreads replicas that failed together", () => {
    const delays = new Set(Array.from({ length: 20 }, () => new Backoff({ initialMs: 1000, maxMs: 1000 }).next()));
    expect(delays.size).toBeGreaterThan(1);
  });

  test("reset starts again from the first step", () => {
    const backoff = new Backoff({ initialMs: 10, maxMs: 10_000 });
    for (let i = 0; i < 5; i++) backoff.next();
    backoff.reset();
    expect(backoff.next()).toBeLessThanOrEqual(10);
  });
});

describe("retry", () => {
  test("retries retriable failures until the step succeeds", async () => {
    let calls = 0;
    const value = await retry(
      async () => {
        calls++;
        if (calls < 3) throw new Error("transient");
        return "done";
      },
      { backoff: new Backoff({ initialMs: 1, maxMs: 2 }), retriable: () => true },
    );
    expect(value).toBe("done");
    expect(calls).toBe(3);
  });

  test("a failure that is not retriable is thrown at once", async () => {
    let calls = 0;
    const failing = retry(
      async () => {
        calls++;
        throw new Error("permanent");
      },
      { backoff: new Backoff({ initialMs: 1, maxMs: 2 }), retriable: () => false },
    );
    await expect(failing).rejects.toThrow("permanent");
    expect(calls).toBe(1);
  });

  test("stops retrying once told to", async () => {
    let calls = 0;
    const failing = retry(
      async () => {
        calls++;
        throw new Error("transient");
      },
      { backoff: new Backoff({ initialMs: 1, maxMs: 2 }), retriable: () => true, stopped: () => calls >= 2 },
    );
    await expect(failing).rejects.toThrow("transient");
    expect(calls).toBe(2);
  });
});

describe("withTimeout", () => {
  test("passes the value through", async () => {
    expect(await withTimeout(Promise.resolve(7), 50, "step")).toBe(7);
  });

  test("rejects with a retriable TimeoutError naming the step", async () => {
    const error = await withTimeout(new Promise(() => {}), 10, "commit").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).retriable).toBe(true);
    expect((error as TimeoutError).message).toContain("commit");
  });

  test("settleWithin never throws and tells a timeout from a settled step", async () => {
    expect(await settleWithin(Promise.reject(new Error("x")), 50)).toBe("settled");
    expect(await settleWithin(new Promise(() => {}), 10)).toBe("timeout");
  });
});

describe("waitFor", () => {
  test("returns the first value that is not undefined or false", async () => {
    let n = 0;
    expect(await waitFor("n to reach 3", () => (++n >= 3 ? n : false), { intervalMs: 1 })).toBe(3);
  });

  test("times out quoting the last error", async () => {
    const failing = waitFor(
      "never",
      () => {
        throw new Error("still down");
      },
      { timeoutMs: 20, intervalMs: 5 },
    );
    await expect(failing).rejects.toThrow(/never: still down/);
  });
});
