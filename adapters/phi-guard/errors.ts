import { IntegrationError } from '../shared/errors';
import type { ErrorCode } from '../shared/errors';

/**
 * Errors shared by the provider adapters (Stripe, Twilio, SendGrid). Messages
 * name field paths, rule ids, event ids and hub message ids only, never a
 * value: a value that tripped the PHI policy is PHI by definition, and a
 * webhook body carries phone numbers and email addresses.
 */

/**
 * Provider ids and SIDs are identifiers and may be printed, but only when
 * they look like one (no `@` or `+`: an address or a phone number is not an id).
 */
export function safeIdentifier(value: string | null | undefined): string {
  if (value === undefined || value === null || value === '') return '(none)';
  return /^[\w.:#/-]{1,128}$/.test(value) ? value : '(unprintable)';
}

export type PhiRule = 'field-name' | 'canary' | 'forbidden-term' | 'cpt-code' | 'hcpcs-code' | 'icd-code' | 'lab-value';

export interface PhiViolation {
  /** Where in the request, e.g. `metadata.patientName` or `personalizations[0].dynamic_template_data.note`. */
  path: string;
  rule: PhiRule;
}

const MAX_LISTED = 5;

/**
 * The PHI policy refused a provider request before anything was sent.
 * Never retryable: the same request would be refused again. Uses `PARSE`
 * (the request as built cannot be sent), like other "this input can never go
 * out" errors in the hub.
 */
export class PhiPolicyError extends IntegrationError {
  /** The first offending field path (the error names paths, never values). */
  readonly path: string;

  /**
   * @param provider - `stripe`, `twilio` or `sendgrid`
   * @param violations - every offending path with the rule it broke (at least one)
   */
  constructor(
    readonly provider: string,
    readonly violations: readonly PhiViolation[],
  ) {
    const listed = violations.slice(0, MAX_LISTED).map((v) => `${v.path} (${v.rule})`).join(', ');
    const more = violations.length > MAX_LISTED ? `, +${violations.length - MAX_LISTED} more` : '';
    super(`PHI policy refused the ${provider} request: ${listed}${more}`, 'PARSE', false);
    this.path = violations[0]?.path ?? '(unknown)';
  }
}

/** Why a webhook request was turned away. */
export type WebhookRejection = 'missing-signature' | 'bad-signature' | 'stale' | 'replayed' | 'in-progress' | 'malformed';

/**
 * A webhook request that must not be processed. `httpStatus` is what the
 * endpoint should answer; nothing was changed when this is thrown.
 */
export class WebhookRejectedError extends IntegrationError {
  /**
   * @param provider - `stripe`, `twilio` or `sendgrid`
   * @param reason - machine-readable cause
   * @param httpStatus - the answer the endpoint should give the provider
   */
  constructor(
    message: string,
    readonly provider: string,
    readonly reason: WebhookRejection,
    readonly httpStatus: number,
    code: ErrorCode,
    retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, code, retryable, options);
  }
}

/** The signature header is missing, unparseable or does not match the body. */
export class WebhookSignatureError extends WebhookRejectedError {
  constructor(provider: string, reason: 'missing-signature' | 'bad-signature', options?: ErrorOptions) {
    super(`${provider} webhook rejected: ${reason}`, provider, reason, reason === 'missing-signature' ? 401 : 403, 'AUTH', false, options);
  }
}

/** Validly signed, but signed too long ago (or too far in the future): a captured request played back. */
export class WebhookStaleError extends WebhookRejectedError {
  /** @param ageSec - how old the signature is (negative: from the future) */
  constructor(
    provider: string,
    readonly ageSec: number,
  ) {
    super(`${provider} webhook rejected: signature timestamp ${ageSec}s old`, provider, 'stale', 403, 'AUTH', false);
  }
}

/**
 * The event was processed already (`replayed`), or is being processed right
 * now by another request (`in-progress`, retryable: answer 409 and the
 * provider tries again later). A provider's own redelivery after a lost 2xx
 * also lands here as `replayed`; the endpoint may answer it 200 instead (see
 * the provider adapter's docs).
 */
export class WebhookReplayError extends WebhookRejectedError {
  /** @param eventKey - the provider's event id (Stripe `evt_…`, SendGrid `sg_event_id`, Twilio MessageSid[:status]) */
  constructor(
    provider: string,
    readonly eventKey: string,
    reason: 'replayed' | 'in-progress',
  ) {
    super(`${provider} webhook rejected: event ${safeIdentifier(eventKey)} ${reason === 'replayed' ? 'already processed' : 'is being processed'}`, provider, reason, 409, 'AUTH', reason === 'in-progress');
  }
}

/** Signed correctly but not something we can read (not JSON, missing ids). */
export class WebhookPayloadError extends WebhookRejectedError {
  constructor(provider: string, what: string, options?: ErrorOptions) {
    super(`${provider} webhook rejected: ${what}`, provider, 'malformed', 400, 'PARSE', false, options);
  }
}

/**
 * A message the provider accepted has not been confirmed delivered yet.
 * Retryable on purpose: a queue job that checks delivery keeps retrying
 * until the message's deadline, and the queue escalates when it passes.
 */
export class DeliveryPendingError extends IntegrationError {
  constructor(
    readonly hubMessageId: string,
    readonly state: string,
  ) {
    super(`delivery of hub message ${safeIdentifier(hubMessageId)} not confirmed (state ${state})`, 'TIMEOUT', true);
  }
}

/** The provider reported the message undeliverable (undelivered, failed, bounced, dropped). */
export class DeliveryFailedError extends IntegrationError {
  constructor(
    readonly hubMessageId: string,
    readonly providerErrorCode: string | null,
  ) {
    super(`hub message ${safeIdentifier(hubMessageId)} was not delivered (${safeIdentifier(providerErrorCode)})`, 'PROVIDER', false);
  }
}

/** A provider adapter was configured with something unusable (a bad key, an unknown time zone). */
export class ProviderConfigError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CONFIG', false, options);
  }
}

/**
 * A send request the adapter refuses before calling the provider: a missing
 * hub message id, a malformed phone number, an amount that is not an integer.
 * Names the field, never its value.
 */
export class ProviderRequestInvalidError extends IntegrationError {
  constructor(
    readonly provider: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${provider} request invalid: ${field} ${problem}`, 'PARSE', false);
  }
}

/**
 * Another attempt is sending this hub message right now (its reservation in
 * the sent registry is younger than the lease). Retryable: by the next try
 * that attempt has either been accepted (the retry reports a duplicate) or
 * released the id.
 */
export class SendInProgressError extends IntegrationError {
  constructor(
    readonly provider: string,
    readonly hubMessageId: string,
  ) {
    super(`${provider} send of hub message ${safeIdentifier(hubMessageId)} is already in progress`, 'PROVIDER', true);
  }
}
