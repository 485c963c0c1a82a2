import { IntegrationError } from '../shared/errors';

/**
 * HL7 errors. Messages name identifiers only (segment IDs, indexes, paths,
 * reasons), never field content: any field may be PHI (STYLE.md §5, §8).
 * Callers branch on `code` (from IntegrationError) and `reason`.
 */

export type Hl7ParseErrorReason =
  | 'EMPTY'
  | 'MISSING_MSH'
  | 'BAD_ENCODING_CHARS'
  /** The last segment has no terminator: the message was cut off. */
  | 'TRUNCATED'
  | 'BAD_SEGMENT_ID'
  | 'MULTIPLE_MESSAGES'
  | 'EMBEDDED_SEGMENT'
  /** Segments of a batch file are not in FHS, BHS, MSH..., BTS, FTS order. */
  | 'BAD_BATCH'
  | 'BATCH_COUNT_MISMATCH'
  | 'DOUBLED_ESCAPE_CHAR'
  | 'UNSUPPORTED_CHARSET'
  /** The bytes are not valid in the declared character set. */
  | 'BAD_CHARSET_DATA';

export interface Hl7ErrorLocation {
  /** 0-based index of the offending segment (line) in the input. */
  segmentIndex?: number;
  /** Segment ID, only when it is a valid ID (an invalid one may be content). */
  segmentName?: string;
  /** 0-based character offset in the input text (byte offset for charset errors). */
  position?: number;
}

/** The input is not a usable HL7 v2 message. Never retryable: the same bytes fail again. */
export class Hl7ParseError extends IntegrationError {
  readonly segmentIndex?: number;
  readonly segmentName?: string;
  readonly position?: number;

  /**
   * @param reason - machine-readable cause
   * @param where - where in the input it was found
   */
  constructor(
    message: string,
    readonly reason: Hl7ParseErrorReason,
    where: Hl7ErrorLocation = {},
    options?: ErrorOptions,
  ) {
    super(message, 'PARSE', false, options);
    if (where.segmentIndex !== undefined) this.segmentIndex = where.segmentIndex;
    if (where.segmentName !== undefined) this.segmentName = where.segmentName;
    if (where.position !== undefined) this.position = where.position;
  }
}

export type Hl7PathErrorReason =
  /** The path does not follow `SEG[n]-F[r].C.S`. */
  | 'BAD_PATH'
  /** MSH-1/MSH-2 (and FHS/BHS) define the delimiters and cannot be set. */
  | 'READ_ONLY'
  /** A raw value contains a delimiter that would change the message structure. */
  | 'BAD_VALUE';

/** A path or value passed by the caller is unusable: a configuration or programming error. */
export class Hl7PathError extends IntegrationError {
  /** @param reason - machine-readable cause */
  constructor(
    message: string,
    readonly reason: Hl7PathErrorReason,
  ) {
    super(message, 'CONFIG', false);
  }
}

export type Hl7EncodeErrorReason = 'UNSUPPORTED_CHARSET' | 'UNENCODABLE_CHARACTER';

/**
 * Text cannot be written in the message's declared character set. Code PARSE:
 * the shared code set has no ENCODE, and this is the same class of failure
 * (the data does not fit the wire format), not a transport problem.
 */
export class Hl7EncodeError extends IntegrationError {
  /**
   * @param reason - machine-readable cause
   * @param position - 0-based offset of the first unencodable character
   */
  constructor(
    message: string,
    readonly reason: Hl7EncodeErrorReason,
    readonly position?: number,
  ) {
    super(message, 'PARSE', false);
  }
}
