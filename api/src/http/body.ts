import { MalformedJsonError, PayloadTooLargeError, UnsupportedMediaTypeError } from "../errors.ts";

function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const semicolon = contentType.indexOf(";");
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return mediaType === "application/json" || (mediaType.startsWith("application/") && mediaType.endsWith("+json"));
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads a JSON request body of at most `maxBytes` bytes. A declared length over
 * the limit is refused before reading; a chunked body is measured once read
 * (the server's maxRequestBodySize bounds what is buffered).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const contentType = request.headers.get("content-type");
  if (!isJsonContentType(contentType)) throw new UnsupportedMediaTypeError(contentType);
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > maxBytes) throw new PayloadTooLargeError(maxBytes);
    // The length is known and within bounds: the runtime's native parser is the fast path.
    try {
      return await request.json();
    } catch (error) {
      throw new MalformedJsonError(`Request body is not valid JSON: ${(error as Error).message}`);
    }
  }
  const bytes = await request.arrayBuffer();
  if (bytes.byteLength > maxBytes) throw new PayloadTooLargeError(maxBytes);
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
