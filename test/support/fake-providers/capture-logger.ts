import type { LogMeta, Logger } from '../../../adapters/shared/logger';

export interface CapturedLogger {
  logger: Logger;
  /** One JSON line per call, as a JSON-lines logger would write it. */
  lines: string[];
}

/** A Logger that keeps every line, for asserting that no canary was ever logged. */
export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, msg: message, ...meta }));
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}
