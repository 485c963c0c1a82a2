/**
 * One error base for every adapter. Callers branch on `code` and `retryable`,
 * never on message text; messages name identifiers (control ids, keys), never
 * message content, because content is PHI.
 */
export const HUB_ERROR_CODES = ['CONNECT_FAILED', 'TIMEOUT', 'NACK', 'PARSE', 'AUTH', 'RATE_LIMITED', 'PROVIDER', 'CONFIG', 'STORE', 'CRYPTO', 'NOT_FOUND'] as const;
export type ErrorCode = (typeof HUB_ERROR_CODES)[number];

export class IntegrationError extends Error {
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Narrow an unknown throwable to something with a safe, PHI-free summary. */
export function errorCode(err: unknown): string {
  if (err instanceof IntegrationError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof (err as { code: unknown }).code === 'string') {
    return (err as { code: string }).code;
  }
  return 'UNKNOWN';
}
