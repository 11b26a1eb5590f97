/**
 * Shared by the controllers and the server's shutdown. On SIGTERM `shuttingDown` turns readiness false
 * while messages are still served (the load balancer needs SHUTDOWN_DELAY_MS to stop routing here);
 * once the listener has closed, `draining` refuses any message whose handler only starts then.
 */
export interface Lifecycle {
  shuttingDown: boolean;
  draining: boolean;
}

export function createLifecycle(): Lifecycle {
  return { shuttingDown: false, draining: false };
}
