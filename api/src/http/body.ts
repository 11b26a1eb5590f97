import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.ts";

// Compiled once: the charset parameter of a Content-Type, quoted or not.
const CHARSET_PARAMETER = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i;

/**
 * Only JSON in UTF-8 is accepted: `application/json` or `application/*+json`, with no
 * charset or charset=utf-8. Another charset is refused (415) rather than decoded, so
 * that what is stored is exactly what the client meant.
 */
function checkContentType(contentType: string | null): void {
  if (contentType === null) throw new UnsupportedMediaTypeError("Content-Type must be application/json, got none");
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  if (mediaType !== "application/json" && !(mediaType.startsWith("application/") && mediaType.endsWith("+json"))) {
    throw new UnsupportedMediaTypeError(`Content-Type must be application/json, got ${JSON.stringify(contentType)}`);
  }
  if (semicolon === -1) return;
  const match = CHARSET_PARAMETER.exec(contentType);
  const charset = (match?.[1] ?? match?.[2])?.toLowerCase();
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
    throw new UnsupportedMediaTypeError(`Only UTF-8 is accepted, got charset=${JSON.stringify(charset)}`);
  }
}

/**
 * Reads a body of unknown length (chunked) chunk by chunk and gives up as soon as it
 * passes `maxBytes`: the server itself sets no limit (see server.ts), so this bound is
 * what keeps an oversized body out of memory.
 */
async function readBounded(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new PayloadTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, total);
}

// fatal: invalid UTF-8 is refused, not replaced by U+FFFD (which would then be stored).
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a JSON request body of at most `maxBytes` bytes, in UTF-8. A declared length
 * over the limit is refused before anything is read.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  checkContentType(request.headers.get("content-type"));
  const declared = request.headers.get("content-length");
  let bytes: Uint8Array;
  if (declared === null) {
    bytes = await readBounded(request.body, maxBytes);
  } else {
    if (Number(declared) > maxBytes) throw new PayloadTooLargeError(maxBytes);
    // The server reads exactly the declared length, which is within bounds.
    bytes = await request.bytes();
  }
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new MalformedJsonError("Request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedJsonError(`Request body is not valid JSON: ${(error as Error).message}`);
  }
}
