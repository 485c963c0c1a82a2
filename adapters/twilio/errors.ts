import { IntegrationError } from '../shared/errors';
import type { ErrorCode } from '../shared/errors';
import { safeIdentifier } from '../phi-guard/errors';
import { classifyHttpStatus, classifyNetworkError } from '../phi-guard/provider-failure';

/** Twilio error 21610: the recipient replied STOP to this sender. */
export const TWILIO_UNSUBSCRIBED = 21610;

/**
 * Twilio refused or failed a REST call. Carries Twilio's numeric error code
 * and HTTP status, never Twilio's message (it quotes the phone number). The
 * SDK error is the `cause`.
 */
export class TwilioRequestError extends IntegrationError {
  /**
   * @param hubMessageId - the message being sent
   * @param twilioCode - Twilio's error code (https://www.twilio.com/docs/api/errors)
   * @param status - HTTP status, null when there was no answer
   */
  constructor(
    readonly hubMessageId: string,
    readonly twilioCode: number | null,
    readonly status: number | null,
    code: ErrorCode,
    retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(
      `Twilio send failed for hub message ${safeIdentifier(hubMessageId)}: ${status === null ? 'no response' : `HTTP ${status}`}${twilioCode === null ? '' : ` (Twilio ${twilioCode})`}`,
      code,
      retryable,
      options,
    );
  }
}

/**
 * The recipient has opted out (STOP), in our registry or at Twilio. Never
 * retryable: the patient must text START first. For a time-critical message
 * this dead-letters at once, which is the signal to reach the patient
 * another way.
 */
export class RecipientOptedOutError extends IntegrationError {
  /** @param hubMessageId - the message that was not sent */
  constructor(readonly hubMessageId: string) {
    super(`hub message ${safeIdentifier(hubMessageId)} not sent: recipient opted out of SMS`, 'PROVIDER', false);
  }
}

/**
 * Maps what twilio-node throws (RestException, TwilioServiceException, axios
 * errors) onto the hub's codes.
 * @param err - the thrown error
 * @param hubMessageId - the message being sent
 */
export function fromTwilioError(err: unknown, hubMessageId: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const e = (err && typeof err === 'object' ? err : {}) as { status?: unknown; code?: unknown };
  const status = typeof e.status === 'number' ? e.status : null;
  const twilioCode = typeof e.code === 'number' ? e.code : null;
  if (status !== null) {
    const cls = classifyHttpStatus(status);
    return new TwilioRequestError(hubMessageId, twilioCode, status, cls.code, cls.retryable, { cause: err });
  }
  const cls = classifyNetworkError(err) ?? { code: 'CONNECT_FAILED' as const, retryable: true };
  return new TwilioRequestError(hubMessageId, null, null, cls.code, cls.retryable, { cause: err });
}
