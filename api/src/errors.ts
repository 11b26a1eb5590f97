import type { FieldError } from "@weather/schema";

/** Every `error` code the API answers with (documented in docs/api.md and the OpenAPI document). */
export const ERROR_CODES = [
  "validation",
  "malformed_json",
  "payload_too_large",
  "unsupported_media_type",
  "not_found",
  "method_not_allowed",
  "broker_unavailable",
  "shutting_down",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Every error the API answers with. `status` and `code` are mapped to the response in
 * one place (app.ts onError); `retriable` tells a client whether sending the same
 * request again can succeed.
 */
export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly code: ErrorCode;
  abstract readonly retriable: boolean;
  /** Extra response headers (e.g. Retry-After). */
  headers(): Record<string, string> {
    return {};
  }
  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, retriable: this.retriable };
  }
}

export class ValidationError extends ApiError {
  override readonly name = "ValidationError";
  readonly status = 400;
  readonly code = "validation";
  readonly retriable = false;
  constructor(readonly details: (FieldError & { index?: number })[]) {
    super(
      `Invalid message: ${details
        .slice(0, 3)
        .map((d) => `${d.index === undefined ? "" : `[${d.index}]`}${d.field} ${d.rule}`)
        .join("; ")}`,
    );
  }
  override body(): Record<string, unknown> {
    return { error: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }
}

export class MalformedJsonError extends ApiError {
  override readonly name = "MalformedJsonError";
  readonly status = 400;
  readonly code = "malformed_json";
  readonly retriable = false;
}

export class PayloadTooLargeError extends ApiError {
  override readonly name = "PayloadTooLargeError";
  readonly status = 413;
  readonly code = "payload_too_large";
  readonly retriable = false;
  constructor(readonly limitBytes: number) {
    super(`Request body exceeds ${limitBytes} bytes`);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  override readonly name = "UnsupportedMediaTypeError";
  readonly status = 415;
  readonly code = "unsupported_media_type";
  readonly retriable = false;
}

export class NotFoundError extends ApiError {
  override readonly name = "NotFoundError";
  readonly status = 404;
  readonly code = "not_found";
  readonly retriable = false;
}

/** The path exists, the method does not: the answer names the methods that do. */
export class MethodNotAllowedError extends ApiError {
  override readonly name = "MethodNotAllowedError";
  readonly status = 405;
  readonly code = "method_not_allowed";
  readonly retriable = false;
  constructor(
    method: string,
    readonly allowed: readonly string[],
  ) {
    super(`Method ${method} is not allowed here; allowed: ${allowed.join(", ")}`);
  }
  override headers(): Record<string, string> {
    return { allow: this.allowed.join(", ") };
  }
}

/** An error no route expected: logged with its stack, answered without details. */
export class InternalError extends ApiError {
  override readonly name = "InternalError";
  readonly status = 500;
  readonly code = "internal";
  readonly retriable = true;
  constructor() {
    super("Internal error");
  }
}

/** A broker is down, refused the message or did not confirm it in time. */
export class BrokerUnavailableError extends ApiError {
  override readonly name = "BrokerUnavailableError";
  readonly status = 503;
  readonly code = "broker_unavailable";
  readonly retriable = true;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    readonly ids: string[] = [],
    /** Brokers that had confirmed when the answer was given; the API publishes to the others by itself. */
    readonly confirmedBy: ("rabbitmq" | "kafka")[] = [],
  ) {
    super(message);
  }
  override headers(): Record<string, string> {
    return { "retry-after": String(this.retryAfterSeconds) };
  }
  /** The ids let a client retry with the same ids, which downstream counts once. */
  override body(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      retriable: this.retriable,
      ids: this.ids,
      confirmedBy: this.confirmedBy,
    };
  }
}

/** The API is draining for shutdown: new messages go to another replica. */
export class ShuttingDownError extends ApiError {
  override readonly name = "ShuttingDownError";
  readonly status = 503;
  readonly code = "shutting_down";
  readonly retriable = true;
  constructor(readonly retryAfterSeconds: number) {
    super("The API is shutting down");
  }
  override headers(): Record<string, string> {
    return { "retry-after": String(this.retryAfterSeconds) };
  }
}
