import { IntegrationError } from '../shared/errors';
import type { ErrorCode } from '../shared/errors';
import { safeIdentifier } from '../phi-guard/errors';
import { classifyHttpStatus, classifyNetworkError } from '../phi-guard/provider-failure';

/**
 * A Stripe API call failed. Carries Stripe's machine-readable fields (error
 * class, `code`, `decline_code`, HTTP status, request id) but never Stripe's
 * message text, which can quote the parameters we sent. The SDK error is the
 * `cause`.
 */
export class StripeRequestError extends IntegrationError {
  /**
   * @param operation - what we were doing, e.g. `create payment intent`
   * @param hubMessageId - the hub message (and idempotency key)
   * @param details - Stripe's error class, codes, status and request id
   */
  constructor(
    readonly operation: string,
    readonly hubMessageId: string,
    readonly details: { stripeType: string; stripeCode: string | null; declineCode: string | null; statusCode: number | null; requestId: string | null },
    code: ErrorCode,
    retryable: boolean,
    options?: ErrorOptions,
  ) {
    const status = details.statusCode === null ? 'no response' : `HTTP ${details.statusCode}`;
    const codes = [details.stripeCode, details.declineCode].filter((c): c is string => c !== null).map(safeIdentifier).join('/');
    super(
      `Stripe ${operation} failed for hub message ${safeIdentifier(hubMessageId)}: ${status} ${safeIdentifier(details.stripeType)}${codes ? ` (${codes})` : ''}${details.requestId ? ` [${safeIdentifier(details.requestId)}]` : ''}`,
      code,
      retryable,
      options,
    );
  }
}

interface StripeErrorShape {
  type?: unknown;
  statusCode?: unknown;
  code?: unknown;
  decline_code?: unknown;
  requestId?: unknown;
  headers?: unknown;
}

/**
 * Maps anything the Stripe SDK throws onto the hub's error codes.
 *
 * Stripe's `Stripe-Should-Retry` header, when present, decides retryability:
 * Stripe sets it knowing whether the request can be repeated with the same
 * idempotency key. Otherwise: 409 (an idempotent request still running, or a
 * lock timeout) and 429 are retryable; the 4xx rest is permanent (declines,
 * invalid requests, a key reused with other parameters); 5xx and connection
 * failures are retryable, and safe to retry because the key is the same.
 *
 * @param err - what the SDK threw
 * @param operation - what we were doing
 * @param hubMessageId - the hub message (and idempotency key)
 */
export function fromStripeError(err: unknown, operation: string, hubMessageId: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const e = (err && typeof err === 'object' ? err : {}) as StripeErrorShape;
  const stripeType = typeof e.type === 'string' ? e.type : err instanceof Error ? err.name : 'UnknownError';
  const statusCode = typeof e.statusCode === 'number' ? e.statusCode : null;
  const details = {
    stripeType,
    stripeCode: typeof e.code === 'string' ? e.code : null,
    declineCode: typeof e.decline_code === 'string' ? e.decline_code : null,
    statusCode,
    requestId: typeof e.requestId === 'string' ? e.requestId : null,
  };
  let cls = statusCode !== null ? classifyHttpStatus(statusCode) : (classifyNetworkError(err) ?? { code: 'CONNECT_FAILED' as const, retryable: true });
  if (statusCode === 409) cls = { code: 'PROVIDER', retryable: true };
  const shouldRetry = headerOf(e.headers, 'stripe-should-retry');
  if (shouldRetry === 'true') cls = { ...cls, retryable: true };
  if (shouldRetry === 'false') cls = { ...cls, retryable: false };
  return new StripeRequestError(operation, hubMessageId, details, cls.code, cls.retryable, { cause: err });
}

function headerOf(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) if (k.toLowerCase() === name && typeof v === 'string') return v;
  return undefined;
}
