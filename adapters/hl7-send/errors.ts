import { IntegrationError } from '../shared/errors';
import type { Hl7Message } from '../hl7';
import type { AckCodeValue, Hl7AckErrorDetail } from './ack-reader';

/**
 * Errors of the outbound HL7 sender. Messages name control IDs, ACK codes,
 * table 0357 codes and error locations only. Anything the receiver wrote as
 * free text (ERR-8, MSA-3) may echo patient data back at us, so it is kept in
 * non-enumerable properties: code can read it, but util.inspect, JSON.stringify
 * and loggers that dump error objects do not print it (STYLE.md §5, §8).
 */

/** Attach a value that generic serializers must not print. */
function hidden<T extends object>(target: T, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: false });
}

/** Control IDs are identifiers and may be logged, but only if they look like one. */
export function safeId(value: string | undefined): string {
  if (value === undefined || value === '') return '(empty)';
  return /^[\w.:@#-]{1,64}$/.test(value) ? value : '(unprintable)';
}

/**
 * The receiver answered AE/AR (original mode) or CE/CR (enhanced mode).
 * AR/CR mean "never send this again as it is": not retryable. AE/CE mean the
 * receiver failed to process it; whether trying again helps depends on the
 * receiver, so the sender's `aeRetryable` option decides (default false).
 */
export class Hl7NackError extends IntegrationError {
  /** ERR-8 User Message of each ERR segment, in order (may echo PHI; not enumerable). */
  declare readonly userMessages: readonly string[];
  /** MSA-3 Text Message (may echo PHI; not enumerable). */
  declare readonly ackText: string | undefined;
  /** The parsed ACK (not enumerable). */
  declare readonly ack: Hl7Message;
  /** The ACK bytes as received (not enumerable). */
  declare readonly response: Buffer;
  /** The ACK decoded to text (not enumerable). */
  declare readonly responseText: string;
  /** MSH-10 of the ACK itself. */
  readonly ackControlId: string;

  /**
   * @param ackCode - MSA-1
   * @param controlId - MSH-10 of the message sent (= MSA-2 of the ACK)
   * @param errors - codes and locations from the ERR segments
   * @param retryable - false for AR/CR; the sender's policy for AE/CE
   * @param details - the ACK's own control ID; the texts, the parsed ACK and its bytes, kept out of serializers
   */
  constructor(
    readonly ackCode: Exclude<AckCodeValue, 'AA' | 'CA'>,
    readonly controlId: string,
    readonly errors: readonly Hl7AckErrorDetail[],
    retryable: boolean,
    details: {
      ackControlId?: string;
      userMessages: readonly string[];
      ackText: string | undefined;
      ack: Hl7Message;
      response: Buffer;
      responseText?: string;
    },
  ) {
    super(`NACK ${ackCode} for control ID ${safeId(controlId)}${describeErrors(errors)}`, 'NACK', retryable);
    this.ackControlId = details.ackControlId ?? '';
    hidden(this, 'responseText', details.responseText ?? details.response.toString('utf8'));
    hidden(this, 'userMessages', details.userMessages);
    hidden(this, 'ackText', details.ackText);
    hidden(this, 'ack', details.ack);
    hidden(this, 'response', details.response);
  }
}

/**
 * The response on the connection acknowledges another message (MSA-2 is not
 * the MSH-10 just sent): a late ACK of an earlier message, a duplicate ACK,
 * or a peer that answers out of order. Accepting it would mark the wrong
 * message as delivered, and the real ACK of this one would then be taken for
 * the next message's, so the sender resets the connection to realign the
 * pairing. Retryable: the message itself may be fine; a receiver that dedupes
 * on MSH-10 (as HL7 expects) absorbs a duplicate.
 */
export class Hl7StaleAckError extends IntegrationError {
  /** The ACK bytes as received (not enumerable). */
  declare readonly response: Buffer;

  /**
   * @param controlId - MSH-10 of the message sent
   * @param acknowledgedId - MSA-2 of the ACK that arrived
   * @param response - the ACK bytes
   */
  constructor(
    readonly controlId: string,
    readonly acknowledgedId: string,
    response: Buffer,
  ) {
    super(
      `ACK for control ID ${safeId(acknowledgedId)} received while awaiting control ID ${safeId(controlId)}; connection reset`,
      'PROVIDER',
      true,
    );
    hidden(this, 'response', response);
  }
}

export type Hl7AckParseReason =
  /** The response is not parseable HL7 (or not decodable in its charset). */
  | 'UNPARSEABLE'
  /** The response parsed but has no MSA segment. */
  | 'NO_MSA'
  /** MSA-1 is not one of AA, AE, AR, CA, CE, CR. */
  | 'BAD_ACK_CODE';

/**
 * The response could not be read as an acknowledgment. Retryable, unlike a
 * parse error of inbound data: the message we sent may be fine and the
 * receiver's answer garbled (a cut connection, a half-written ACK).
 */
export class Hl7AckParseError extends IntegrationError {
  /** The response bytes as received (not enumerable). */
  declare readonly response: Buffer;

  /**
   * @param reason - what was wrong with the response
   * @param controlId - MSH-10 of the message sent
   * @param response - the response bytes
   */
  constructor(
    readonly reason: Hl7AckParseReason,
    readonly controlId: string,
    response: Buffer,
    options?: ErrorOptions,
  ) {
    super(`unreadable ACK for control ID ${safeId(controlId)}: ${reason}`, 'PARSE', true, options);
    hidden(this, 'response', response);
  }
}

export type Hl7OutboundErrorReason =
  /** MSH-10 is empty: the ACK could not be matched to the message. */
  | 'NO_CONTROL_ID'
  /** The input is not HL7 text, bytes or a parsed message. */
  | 'NOT_A_MESSAGE'
  /** More than one MSH: a batch cannot be acknowledged as one message. */
  | 'MULTIPLE_MESSAGES';

/** The message handed to the sender cannot be sent as it is. Never retryable. */
export class Hl7OutboundError extends IntegrationError {
  /** @param reason - machine-readable cause */
  constructor(
    message: string,
    readonly reason: Hl7OutboundErrorReason,
  ) {
    super(message, 'PARSE', false);
  }
}

/** The response bytes an error carries, when the receiver answered at all. */
export function responseOf(err: unknown): Buffer | undefined {
  if (err instanceof Hl7NackError || err instanceof Hl7StaleAckError || err instanceof Hl7AckParseError) return err.response;
  return undefined;
}

function describeErrors(errors: readonly Hl7AckErrorDetail[]): string {
  const parts = errors
    .slice(0, 5)
    .map((e) => [e.code, e.location && `at ${e.location}`].filter(Boolean).join(' '))
    .filter((s) => s.length > 0);
  if (parts.length === 0) return '';
  const more = errors.length > 5 ? `, +${errors.length - 5} more` : '';
  return ` (ERR ${parts.join(', ')}${more})`;
}
