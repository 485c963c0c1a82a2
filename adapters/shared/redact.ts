import { types } from 'node:util';
import type { LogMeta } from './logger';

/**
 * Log-safe summaries of messages. Only structural facts leave this module:
 * the message type, control id and byte length. Never a field value.
 */
export function summarizeMessage(m: { type?: string | null; controlId?: string | null; body?: Buffer | string }): LogMeta {
  return {
    type: m.type ?? undefined,
    controlId: m.controlId ?? undefined,
    bytes: m.body === undefined ? undefined : Buffer.byteLength(m.body),
  };
}

/** Error text that may be logged: the error's code and class, not its message (which may quote input). */
export function summarizeError(err: unknown): LogMeta {
  // isNativeError: an Error from another realm (a function node's vm context) is no `instanceof Error` here.
  if (err instanceof Error || types.isNativeError(err)) {
    const code = (err as { code?: unknown }).code;
    return { error: err.name, code: typeof code === 'string' ? code : undefined };
  }
  return { error: typeof err };
}
