/**
 * The logger adapters receive. Metadata must only carry what STYLE.md §8
 * allows (types, control ids, lengths, counts, durations, peers, error codes);
 * build it with `redact.ts` helpers.
 */
export type LogMeta = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(message: string, meta?: LogMeta): void;
  info(message: string, meta?: LogMeta): void;
  warn(message: string, meta?: LogMeta): void;
  error(message: string, meta?: LogMeta): void;
}

const noop = (): void => undefined;

export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** JSON lines on stdout/stderr: what container log collectors expect. */
export function jsonLogger(level: LogLevel, component: string, write: (line: string, isError: boolean) => void = defaultWrite): Logger {
  const emit = (lvl: LogLevel) => (message: string, meta?: LogMeta): void => {
    if (RANK[lvl] < RANK[level]) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, component, msg: message, ...meta }), lvl === 'error');
  };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function defaultWrite(line: string, isError: boolean): void {
  (isError ? process.stderr : process.stdout).write(line + '\n');
}
