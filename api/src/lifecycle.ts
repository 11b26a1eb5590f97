/** Shared by the controllers and main: once shutting down, readiness is false and new messages get 503. */
export interface Lifecycle {
  shuttingDown: boolean;
}

export function createLifecycle(): Lifecycle {
  return { shuttingDown: false };
}
