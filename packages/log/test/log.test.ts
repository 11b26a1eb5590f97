import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { createLogger } from "../src/index.ts";

describe("createLogger", () => {
  const write = spyOn(process.stdout, "write").mockImplementation(() => true);
  afterEach(() => write.mockClear());
  const lines = () => write.mock.calls.map(([chunk]) => JSON.parse(String(chunk)));

  test("one JSON object per line, below the threshold dropped", () => {
    const log = createLogger("info", { service: "t" });
    log.debug("hidden");
    log.info("shown", { n: 1 });
    expect(lines()).toEqual([expect.objectContaining({ level: "info", msg: "shown", service: "t", n: 1 })]);
  });

  test("errors keep their stack, code, retriable verdict and cause chain", () => {
    const root = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const error = Object.assign(new Error("rabbitmq: connecting", { cause: root }), { retriable: true });
    createLogger("warn", {}).warn("lost", { error });
    const [line] = lines();
    expect(line.error).toMatchObject({ name: "Error", message: "rabbitmq: connecting", retriable: true });
    expect(line.error.stack).toContain("log.test.ts");
    expect(line.error.cause).toMatchObject({ message: "connect ECONNREFUSED", code: "ECONNREFUSED" });
  });
});
