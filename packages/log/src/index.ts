/** One JSON object per line on stdout: what log collectors and `jq` read. */
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Causes followed at most this deep: a cycle or a long chain must not blow up one log line. */
const MAX_CAUSE_DEPTH = 4;

/** An Error as JSON: name, message, its code and retriable verdict if any, stack, and its cause chain. */
function describe(value: unknown, depth = 0): unknown {
  if (!(value instanceof Error)) return value;
  const error: Record<string, unknown> = { name: value.name, message: value.message };
  const { code, retriable } = value as { code?: unknown; retriable?: unknown };
  if (code !== undefined) error.code = code;
  if (retriable !== undefined) error.retriable = retriable;
  if (value.stack) error.stack = value.stack;
  if (value.cause !== undefined && depth < MAX_CAUSE_DEPTH) error.cause = describe(value.cause, depth + 1);
  return error;
}

export function createLogger(level: LogLevel, base: Record<string, unknown>): Logger {
  const threshold = LEVELS[level];
  const write = (at: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[at] < threshold) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: at, msg, ...base };
    if (fields) for (const [key, value] of Object.entries(fields)) entry[key] = describe(value);
    process.stdout.write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
  };
}

/** For tests: drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
