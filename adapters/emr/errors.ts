import { IntegrationError } from '../shared/errors';

/**
 * Errors of the EMR adapters. Messages name resource types, HTTP statuses,
 * OperationOutcome issue codes and identifier *systems*, never identifier
 * values or resource content (an MRN is PHI).
 */

/**
 * The FHIR server answered with an error status. 4xx are permanent (the
 * request is wrong and stays wrong) except 408/429; 5xx are retryable.
 */
export class FhirHttpError extends IntegrationError {
  /**
   * @param status - HTTP status
   * @param issueCodes - OperationOutcome.issue[].code values (a closed code list, so safe to carry)
   */
  constructor(
    message: string,
    readonly status: number,
    readonly issueCodes: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, codeFor(status), status >= 500 || status === 408 || status === 429, options);
  }
}

function codeFor(status: number): 'AUTH' | 'NOT_FOUND' | 'RATE_LIMITED' | 'TIMEOUT' | 'PROVIDER' {
  if (status === 401 || status === 403) return 'AUTH';
  if (status === 404 || status === 410) return 'NOT_FOUND';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 408) return 'TIMEOUT';
  return 'PROVIDER';
}

/** No answer: connection refused or reset, DNS failure. Retryable. */
export class FhirConnectionError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CONNECT_FAILED', true, options);
  }
}

/** The answer did not come in time. Retryable: conditional create makes a repeat safe. */
export class FhirTimeoutError extends IntegrationError {
  constructor(
    message: string,
    readonly timeoutMs: number,
    options?: ErrorOptions,
  ) {
    super(message, 'TIMEOUT', true, options);
  }
}

/** The server answered 2xx with something that is not the FHIR JSON expected. Not retryable. */
export class FhirResponseError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'PARSE', false, options);
  }
}

/** A resource handed to the client cannot be sent (no business identifier, no resourceType). */
export class FhirResourceError extends IntegrationError {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message, 'PARSE', false);
  }
}

/**
 * The OAuth2 token endpoint refused the client (4xx: wrong id/secret/scope,
 * permanent) or failed (5xx/unreachable: retryable).
 */
export class OAuthTokenError extends IntegrationError {
  constructor(
    message: string,
    retryable: boolean,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, 'AUTH', retryable, options);
  }
}

export type WebhookRejection = 'missing' | 'malformed' | 'bad-signature' | 'stale' | 'replayed' | 'bad-token';

/** An inbound EMR event failed authentication. Never retryable as sent. */
export class WebhookVerificationError extends IntegrationError {
  constructor(
    message: string,
    readonly reason: WebhookRejection,
  ) {
    super(message, 'AUTH', false);
  }
}

/** An authenticated EMR event is not a valid event. `field` names the path, never the value. */
export class EmrEventError extends IntegrationError {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message, 'PARSE', false);
  }
}
