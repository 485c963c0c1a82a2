import type { ErrorCode } from '../shared/errors';

/** How a failed provider call is reported: the hub's error code and whether trying again may help. */
export interface FailureClass {
  code: ErrorCode;
  retryable: boolean;
}

/**
 * The house rule for HTTP answers (STYLE.md §5): 4xx is the request's fault
 * and permanent, except 408 (timeout) and 429 (rate limit); 401/403 are
 * credentials; 5xx is the provider's fault and retryable.
 * @param status - HTTP status of the provider's answer
 */
export function classifyHttpStatus(status: number): FailureClass {
  if (status === 401 || status === 403) return { code: 'AUTH', retryable: false };
  if (status === 429) return { code: 'RATE_LIMITED', retryable: true };
  if (status === 408) return { code: 'TIMEOUT', retryable: true };
  if (status >= 500) return { code: 'PROVIDER', retryable: true };
  return { code: 'PROVIDER', retryable: false };
}

const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ERR_SOCKET_CONNECTION_TIMEOUT']);

/**
 * A failure without an HTTP answer (no status): a socket error or a timeout.
 * Always retryable. Note that a request may have reached the provider before
 * the connection broke; see the adapters' idempotency notes.
 * @param err - the thrown error or its `cause`/`detail`
 */
export function classifyNetworkError(err: unknown): FailureClass | null {
  const code = networkCode(err);
  if (code === null) return null;
  if (TIMEOUT_CODES.has(code)) return { code: 'TIMEOUT', retryable: true };
  if (CONNECT_CODES.has(code)) return { code: 'CONNECT_FAILED', retryable: true };
  return null;
}

/** The errno-style code of an error or of the error it wraps (axios, Stripe `detail`, `cause`). */
export function networkCode(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$|^UND_ERR_|^ERR_SOCKET/.test(code)) return code;
    e = (e as { cause?: unknown; detail?: unknown }).cause ?? (e as { detail?: unknown }).detail;
  }
  return null;
}
