import { IntegrationError } from '../shared/errors';
import type { ErrorCode } from '../shared/errors';
import { safeIdentifier } from '../phi-guard/errors';
import { classifyHttpStatus, classifyNetworkError } from '../phi-guard/provider-failure';

/**
 * SendGrid refused or failed a Mail Send call. Carries the HTTP status and
 * the names of the fields SendGrid complained about, never its messages
 * (they quote addresses). The SDK error is the `cause`.
 */
export class SendGridRequestError extends IntegrationError {
  /**
   * @param hubMessageId - the message being sent
   * @param status - HTTP status, null when there was no answer
   * @param fields - request fields named in SendGrid's error list
   */
  constructor(
    readonly hubMessageId: string,
    readonly status: number | null,
    readonly fields: readonly string[],
    code: ErrorCode,
    retryable: boolean,
    options?: ErrorOptions,
  ) {
    const where = fields.length > 0 ? ` (fields: ${fields.slice(0, 5).join(', ')})` : '';
    super(`SendGrid send failed for hub message ${safeIdentifier(hubMessageId)}: ${status === null ? 'no response' : `HTTP ${status}`}${where}`, code, retryable, options);
  }
}

/**
 * Maps what @sendgrid/mail throws (ResponseError with `code` = HTTP status,
 * or an axios network error) onto the hub's codes.
 * @param err - the thrown error
 * @param hubMessageId - the message being sent
 */
export function fromSendGridError(err: unknown, hubMessageId: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const e = (err && typeof err === 'object' ? err : {}) as { code?: unknown; response?: { body?: unknown } };
  if (typeof e.code === 'number') {
    const cls = classifyHttpStatus(e.code);
    return new SendGridRequestError(hubMessageId, e.code, errorFields(e.response?.body), cls.code, cls.retryable, { cause: err });
  }
  const cls = classifyNetworkError(err) ?? { code: 'CONNECT_FAILED' as const, retryable: true };
  return new SendGridRequestError(hubMessageId, null, [], cls.code, cls.retryable, { cause: err });
}

/** `errors[].field` of SendGrid's error body, when they look like field paths. */
function errorFields(body: unknown): string[] {
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const errors = parsed && typeof parsed === 'object' ? (parsed as { errors?: unknown }).errors : undefined;
  if (!Array.isArray(errors)) return [];
  return errors
    .map((e) => (e && typeof e === 'object' ? (e as { field?: unknown }).field : undefined))
    .filter((f): f is string => typeof f === 'string' && /^[\w.[\]]{1,80}$/.test(f));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
