import { IntegrationError } from '../shared/errors';

/**
 * Errors of the X12 adapters. Messages name segment IDs, element references
 * (`CLM02`), positions and control numbers only: element values of an 837 or
 * 835 are PHI (names, member IDs, dates of birth), so they never appear in a
 * message (STYLE.md §5, §8).
 */

/** Where in an interchange a problem was found. */
export interface X12Location {
  /** Segment ID, e.g. `CLM`. */
  segment: string;
  /** 1-based position of the segment: within its transaction set (ST = 1), or in the interchange for envelope segments. */
  position?: number;
  /** Loop ID of the implementation guide, e.g. `2300`, when known. */
  loop?: string;
  /** Element reference, e.g. `CLM02`, when one element is at fault. */
  element?: string;
}

export function describeLocation(at: X12Location): string {
  const parts = [`segment ${at.segment}`];
  if (at.position !== undefined) parts.push(`#${at.position}`);
  if (at.loop) parts.push(`loop ${at.loop}`);
  if (at.element) parts.push(`element ${at.element}`);
  return parts.join(' ');
}

/** The input is not a readable X12 interchange (no ISA, unknown transaction set, truncated). */
export class X12ParseError extends IntegrationError {
  /**
   * @param reason - machine-readable reason
   * @param at - where reading stopped, when known
   */
  constructor(
    message: string,
    readonly reason: 'NO_ISA' | 'BAD_ISA' | 'UNSUPPORTED_TRANSACTION' | 'MALFORMED',
    readonly at?: X12Location,
    options?: ErrorOptions,
  ) {
    super(message, 'PARSE', false, options);
  }
}

/** One failed structural rule of an implementation guide. */
export interface X12ValidationIssue extends X12Location {
  /** Stable rule code, e.g. `SE01_COUNT`, `HL_PARENT`, `CLM02_TOTAL`. */
  rule: string;
  /** Human text naming identifiers only. */
  message: string;
}

/**
 * A built or received 837P breaks the structure of 005010X222A1. The message
 * names the first failing segment; `issues` holds all of them.
 */
export class X12ValidationError extends IntegrationError {
  readonly segment: string;

  /** @param issues - every failed rule, in document order (at least one) */
  constructor(readonly issues: readonly X12ValidationIssue[]) {
    const first = issues[0];
    super(
      first
        ? `837P structure invalid at ${describeLocation(first)}: ${first.message}${issues.length > 1 ? ` (+${issues.length - 1} more)` : ''}`
        : '837P structure invalid',
      'PARSE',
      false,
    );
    this.segment = first?.segment ?? '';
  }
}

/** A claim cannot be built from the given charge data (missing field, bad code, delimiter inside a value). */
export class X12BuildError extends IntegrationError {
  /** @param field - the input field at fault, as a path (`lines[2].procedureCode`), never its value */
  constructor(
    message: string,
    readonly field: string,
    options?: ErrorOptions,
  ) {
    super(message, 'PARSE', false, options);
  }
}

/** The control-number store failed. Retryable: a locked or busy database usually clears. */
export class ControlNumberError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'STORE', true, options);
  }
}

/**
 * Delivery of an interchange over HTTPS failed. `status` is the HTTP status
 * when the server answered. 401/403 → AUTH, 429 → RATE_LIMITED (retryable),
 * other 4xx → PROVIDER (permanent), 5xx → PROVIDER (retryable), no answer →
 * CONNECT_FAILED / TIMEOUT (retryable); an untrusted server certificate → AUTH
 * (permanent); a non-https URL → CONFIG.
 */
export class X12DeliveryError extends IntegrationError {
  constructor(
    message: string,
    code: 'AUTH' | 'RATE_LIMITED' | 'PROVIDER' | 'CONNECT_FAILED' | 'TIMEOUT' | 'CONFIG',
    retryable: boolean,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, code, retryable, options);
  }
}
