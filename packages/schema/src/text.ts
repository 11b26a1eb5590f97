/**
 * The rules of the free-text fields (description, country), checked in one pass over
 * the string. TypeBox's `maxLength` counts UTF-16 code units, so an emoji would count
 * twice; the documented limits are in characters, i.e. Unicode code points (as JSON
 * Schema itself counts them), and are checked here instead.
 *
 * Refused anywhere in a text: C0 control characters other than tab and line feed
 * (carriage return included: line breaks are `\n`, and a bare CR rewrites lines in
 * terminals and log views), DEL and the C1 controls (U+007F-U+009F, invisible), and
 * unpaired UTF-16 surrogates (they have no UTF-8 encoding).
 */

type Range = readonly [first: number, last: number];

/** Control characters a text may not contain. */
export const CONTROL_RANGES: readonly Range[] = [
  [0x00, 0x08],
  [0x0b, 0x1f],
  [0x7f, 0x9f],
];

/**
 * The white space that `String.prototype.trim` removes and that does not count as
 * content, minus the control characters above (VT, FF and CR are refused anyway).
 */
export const SPACE_RANGES: readonly Range[] = [
  [0x09, 0x0a],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];

const hex = (code: number) => `\\u${code.toString(16).toUpperCase().padStart(4, "0")}`;
const rangeClass = (ranges: readonly Range[]) =>
  ranges.map(([first, last]) => (first === last ? hex(first) : `${hex(first)}-${hex(last)}`)).join("");

/**
 * The same rules as a JSON Schema `pattern` for the OpenAPI document: at least one
 * character that is neither space nor control, and no control character anywhere.
 * Like JSON Schema, it reads the string as code points (in JavaScript: with the `u`
 * flag). Unpaired surrogates are left to the field's description: validators whose
 * strings cannot hold them (Rust's, used by Schemathesis) refuse a pattern naming them.
 * The API checks with `textRuleBroken`, not with this pattern.
 */
export const TEXT_PATTERN = (() => {
  const refused = rangeClass(CONTROL_RANGES);
  const refusedOrSpace = rangeClass([...CONTROL_RANGES, ...SPACE_RANGES]);
  return `^[^${refused}]*[^${refusedOrSpace}][^${refused}]*$`;
})();

const codePoint = (code: number) => `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;

/** True for the white space of SPACE_RANGES (kept as comparisons: this runs per character). */
function isSpace(c: number): boolean {
  if (c < 0x80) return c === 0x20 || c === 0x09 || c === 0x0a;
  return (
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/**
 * Checks a text as sent: at most `maxCharacters` code points, at least one that is not
 * white space, no refused character. Returns the broken rule, or undefined.
 */
export function textRuleBroken(text: string, maxCharacters: number): string | undefined {
  let characters = 0;
  let hasContent = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x21 && c < 0x7f) {
      hasContent = true;
    } else if (c < 0x20 ? c !== 0x09 && c !== 0x0a : c >= 0x7f && c <= 0x9f) {
      return `Must not contain control character ${codePoint(c)} (at character ${characters + 1}); only tab and line feed are allowed`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c > 0xdbff || next < 0xdc00 || next > 0xdfff) {
        return `Must not contain an unpaired surrogate ${codePoint(c)} (at character ${characters + 1})`;
      }
      i++;
      hasContent = true;
    } else if (!hasContent && !isSpace(c)) {
      hasContent = true;
    }
    characters++;
  }
  if (characters > maxCharacters) {
    return `Must be at most ${maxCharacters} characters (Unicode code points), got ${characters}`;
  }
  if (!hasContent) return "Must contain at least one character that is not white space";
  return undefined;
}
