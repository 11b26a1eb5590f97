/** JSON lines on stdout/stderr: one object per event, easy to grep and to ship. */
type Level = "debug" | "info" | "warn" | "error";
const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(service: string, minLevel: Level = "info"): Logger {
  const min = order[minLevel];
  const write = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level, service, msg, ...fields });
    if (order[level] >= order.warn) console.error(line);
    else console.log(line);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

/** For tests and benchmarks. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
