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
  "metrics_unavailable",
  "internal",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Every error the API answers with. `status` and `code` are mapped to the response in
 * one place (app.ts onError); `retriable` tells a client whether sending the same
 * request again can succeed.
 */
export abstract class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: ErrorCode,
    readonly retriable: boolean,
  ) {
    super(message);
    this.name = new.target.name;
  }
  /** Extra response headers (e.g. Retry-After). */
  headers(): Record<string, string> {
    return {};
  }
  /** Fields of the body beyond error, message and retriable. */
  protected extra(): Record<string, unknown> {
    return {};
  }
  body(): Record<string, unknown> {
    return { error: this.code, message: this.message, retriable: this.retriable, ...this.extra() };
  }
}

export class ValidationError extends ApiError {
  constructor(readonly details: (FieldError & { index?: number })[]) {
    const named = details.slice(0, 3).map((d) => `${d.index === undefined ? "" : `[${d.index}]`}${d.field} ${d.rule}`);
    super(`Invalid message: ${named.join("; ")}`, 400, "validation", false);
  }
  protected override extra() {
    return { details: this.details };
  }
}

export class MalformedJsonError extends ApiError {
  constructor(message: string) {
    super(message, 400, "malformed_json", false);
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(readonly limitBytes: number) {
    super(`Request body exceeds ${limitBytes} bytes`, 413, "payload_too_large", false);
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  constructor(message: string) {
    super(message, 415, "unsupported_media_type", false);
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string) {
    super(message, 404, "not_found", false);
  }
}

/** The path exists, the method does not: the answer names the methods that do. */
export class MethodNotAllowedError extends ApiError {
  constructor(
    method: string,
    readonly allowed: readonly string[],
  ) {
    super(`Method ${method} is not allowed here; allowed: ${allowed.join(", ")}`, 405, "method_not_allowed", false);
  }
  override headers(): Record<string, string> {
    return { allow: this.allowed.join(", ") };
  }
}

/** An error no route expected: logged with its stack, answered without details. */
export class InternalError extends ApiError {
  constructor() {
    super("Internal error", 500, "internal", true);
  }
}

/** A 503: come back after Retry-After seconds. */
abstract class RetryLaterError extends ApiError {
  constructor(
    message: string,
    code: ErrorCode,
    readonly retryAfterSeconds: number,
  ) {
    super(message, 503, code, true);
  }
  override headers(): Record<string, string> {
    return { "retry-after": String(this.retryAfterSeconds) };
  }
}

/** A broker is down, refused the message or did not confirm it in time. */
export class BrokerUnavailableError extends RetryLaterError {
  constructor(
    message: string,
    retryAfterSeconds: number,
    readonly ids: string[] = [],
    /** Brokers that had confirmed when the answer was given; the API publishes to the others by itself. */
    readonly confirmedBy: ("rabbitmq" | "kafka")[] = [],
  ) {
    super(message, "broker_unavailable", retryAfterSeconds);
  }
  /** The ids let a client retry with the same ids, which downstream counts once. */
  protected override extra() {
    return { ids: this.ids, confirmedBy: this.confirmedBy };
  }
}

/** The API is draining for shutdown: new messages go to another replica. */
export class ShuttingDownError extends RetryLaterError {
  constructor(retryAfterSeconds: number) {
    super("The API is shutting down", "shutting_down", retryAfterSeconds);
  }
}

/** API_PROCESSES > 1: a /metrics scrape could not gather every process's metrics (a partial sum would look like a reset). */
export class MetricsUnavailableError extends ApiError {
  constructor(reason: string) {
    super(`Metrics of every API process could not be gathered: ${reason}`, 503, "metrics_unavailable", true);
  }
}
