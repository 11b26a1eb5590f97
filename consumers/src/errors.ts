/**
 * Every failure the consumer handles says whether trying again can help.
 * The flag decides the fate of the messages involved:
 * retriable -> retried, then handed back to the broker (requeue / offset not committed);
 * not retriable -> a bad message is dead-lettered, a bad store or broker setup stops the process.
 */
export abstract class ConsumerError extends Error {
  abstract readonly code: string;
  abstract readonly retriable: boolean;
}

/** The store could not be reached or answered with a transient condition (LOADING, BUSY, timeouts). */
export class StoreUnavailableError extends ConsumerError {
  override readonly name = "StoreUnavailableError";
  readonly code = "store_unavailable";
  readonly retriable = true;
}

/** The store rejected the write in a way retrying will not fix (wrong key type, script error). */
export class StoreRejectedError extends ConsumerError {
  override readonly name = "StoreRejectedError";
  readonly code = "store_rejected";
  readonly retriable = false;
}

/** Acknowledging, committing or dead-lettering failed; the broker will redeliver, which dedup absorbs. */
export class SourceSettleError extends ConsumerError {
  override readonly name = "SourceSettleError";
  readonly code = "source_settle_failed";
  readonly retriable = true;
}

/** The broker connection was lost; the process exits non-zero so its supervisor restarts it. */
export class SourceLostError extends ConsumerError {
  override readonly name = "SourceLostError";
  readonly code = "source_lost";
  readonly retriable = false;
}

/** A message that can never be counted: not JSON, or not a valid envelope. */
export class InvalidMessageError extends ConsumerError {
  override readonly name = "InvalidMessageError";
  readonly code = "invalid_message";
  readonly retriable = false;
  constructor(
    readonly reason: "not_json" | "invalid_envelope",
    detail: string,
  ) {
    super(detail);
  }
}

/** Store replies that mean "try again later" rather than "this can never work". */
const TRANSIENT_STORE_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|OOM)\b/;

/** Classifies an error thrown by the store client. */
export function storeError(error: unknown): ConsumerError {
  if (error instanceof ConsumerError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const isReply = error instanceof Error && error.name === "ReplyError";
  if (isReply && !TRANSIENT_STORE_REPLIES.test(message)) return new StoreRejectedError(message, { cause: error });
  return new StoreUnavailableError(message, { cause: error });
}
