import { describe, expect, test } from "bun:test";
import { compatibilityPartitioner } from "@platformatic/kafka";
import { javaCompatiblePartitioner, murmur2 } from "../src/kafka-partitioner.ts";

describe("the Java-compatible partitioner", () => {
  test("agrees with @platformatic/kafka's on keys of every length and byte value", () => {
    const keys: Buffer[] = [Buffer.alloc(0)];
    for (let length = 1; length <= 64; length++) {
      for (let n = 0; n < 40; n++)
        keys.push(Buffer.from(Array.from({ length }, () => Math.floor(Math.random() * 256))));
    }
    for (let i = 0; i < 2000; i++) keys.push(Buffer.from(crypto.randomUUID()));
    const ours = keys.map((key) => javaCompatiblePartitioner(undefined, key));
    const theirs = keys.map((key) => compatibilityPartitioner(undefined as never, key));
    expect(ours).toEqual(theirs);
  });

  test("matches values published for the Java client", () => {
    // From Kafka's UtilsTest.testMurmur2 (clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java).
    const cases: [string, number][] = [
      ["21", -973932308],
      ["foobar", -790332482],
      ["a-little-bit-long-string", -985981536],
      ["a-little-bit-longer-string", -1486304829],
      ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
      ["abc", 479470107],
    ];
    for (const [key, hash] of cases) expect({ key, hash: murmur2(Buffer.from(key)) }).toEqual({ key, hash });
  });
});
