import { describe, expect, test } from "bun:test";
import { CONTROL_RANGES, parseEnvelope, SPACE_RANGES, TEXT_PATTERN, textRuleBroken } from "../src/index.ts";

const inRanges = (c: number, ranges: readonly (readonly [number, number])[]) =>
  ranges.some(([first, last]) => c >= first && c <= last);
// JSON Schema reads a pattern as code points: in JavaScript that is the `u` flag.
const documented = new RegExp(TEXT_PATTERN, "u");

describe("text rules", () => {
  test("the white space is exactly what String.prototype.trim removes, less the refused controls", () => {
    for (let c = 0; c <= 0xffff; c++) {
      if (inRanges(c, CONTROL_RANGES) || (c >= 0xd800 && c <= 0xdfff)) continue;
      const trimmedAway = String.fromCharCode(c).trim() === "";
      expect([c, trimmedAway]).toEqual([c, inRanges(c, SPACE_RANGES)]);
    }
  });

  test("the check and the documented pattern agree on every BMP character but surrogates, alone and around content", () => {
    for (let c = 0; c <= 0xffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCharCode(c);
      for (const text of [ch, `a${ch}`, `${ch}a`, `a${ch}b`]) {
        expect([text, textRuleBroken(text, 10) === undefined]).toEqual([text, documented.test(text)]);
      }
    }
  });

  test("astral characters count once; pairs are fine, halves are not", () => {
    expect(textRuleBroken("🌧".repeat(3), 3)).toBeUndefined();
    expect(textRuleBroken("🌧".repeat(4), 3)).toBe("Must be at most 3 characters (Unicode code points), got 4");
    expect(documented.test("🌧")).toBe(true);
    for (const text of ["\ud83c", "\udf27", "\udf27\ud83c", "a\ud83cb"]) {
      expect(textRuleBroken(text, 10)).toContain("unpaired surrogate");
    }
  });

  test("blank texts are refused, white space inside content is kept", () => {
    for (const text of ["", " ", "\t\n", "\u3000\ufeff"]) {
      expect(textRuleBroken(text, 10)).toBe("Must contain at least one character that is not white space");
    }
    expect(textRuleBroken(" a\tb\n", 10)).toBeUndefined();
  });
});

describe("envelope text rules", () => {
  const envelope = (description: string) =>
    JSON.stringify({
      schemaVersion: 1,
      id: "0192f1c4-7a3e-7c2b-9f10-2b3c4d5e6f70",
      acceptedAt: 1,
      description,
      country: "GT",
      weather: "Soleado",
    });

  test("280 emoji are a valid envelope; a control character is not", () => {
    expect(parseEnvelope(envelope("🌧".repeat(280))).ok).toBe(true);
    const bad = parseEnvelope(envelope("a\u0000"));
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors[0]?.field).toBe("/description");
  });
});
