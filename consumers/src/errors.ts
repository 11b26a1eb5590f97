/**
 * Store failures, each with the verdict that decides the fate of the batch involved:
 * retriable -> retried with backoff (the batch stays unacknowledged meanwhile);
 * not retriable -> the batch is handed back to the broker and the process stops.
 * Broker failures are @weather/brokers' BrokerError, with the client's own verdict.
 */
export class StoreError extends Error {
  override readonly name: string = "StoreError";
  constructor(
    readonly code: "store_unavailable" | "store_full" | "store_rejected",
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Store replies that mean "try again later" rather than "this can never work". */
const TRANSIENT_REPLIES = /^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY|NOREPLICAS)\b/;
/** maxmemory reached with noeviction: nothing is written until memory is freed (keys expire). */
const FULL_REPLY = /^OOM\b/;

/** Classifies an error thrown by the store client. */
export function storeError(error: unknown): StoreError {
  if (error instanceof StoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const isReply = error instanceof Error && error.name === "ReplyError";
  if (isReply && FULL_REPLY.test(message)) return new StoreError("store_full", message, true, { cause: error });
  if (isReply && !TRANSIENT_REPLIES.test(message)) {
    return new StoreError("store_rejected", message, false, { cause: error });
  }
  return new StoreError("store_unavailable", message, true, { cause: error });
}
