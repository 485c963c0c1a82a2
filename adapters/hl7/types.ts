/**
 * The HL7 v2 message model. Everything here is plain data (arrays, strings,
 * plain objects) so a parsed message survives JSON.stringify, structured clone
 * and Node-RED's msg cloning unchanged.
 *
 * Field texts are kept exactly as they appeared on the wire (still escaped).
 * Splitting into repetitions/components/sub-components and decoding escape
 * sequences happens on access (see access.ts): joining the same split parts
 * with the same delimiter is the identity, so untouched fields serialize
 * byte-identical, and parsing stays close to the cost of a plain split.
 */

/** Delimiters declared by MSH-1 / MSH-2 (or FHS/BHS for batch headers). Derived data: do not edit. */
export interface Hl7Delimiters {
  field: string;
  component: string;
  repetition: string;
  escape: string;
  subcomponent: string;
  /** v2.7+ truncation character (5th char of MSH-2), usually `#`. */
  truncation?: string;
}

export interface Hl7Segment {
  /**
   * The segment text split on the field separator, still escaped.
   * `fields[0]` is the segment ID. For MSH/FHS/BHS `fields[1]` is MSH-2 (the
   * encoding characters), so MSH-n lives at `fields[n - 1]`; for every other
   * segment SEG-n lives at `fields[n]`.
   */
  fields: string[];
  /**
   * Only present when this segment's terminator differs from the message's
   * `lineEnding`: `''` for an unterminated last segment, or a run such as
   * `'\r\r'` when blank lines followed it.
   */
  terminator?: string;
}

export type Hl7WarningReason =
  /** A segment ID is not three upper-case letters/digits (often a line-wrapped segment). */
  | 'BAD_SEGMENT_ID'
  /** A second MSH inside one message: probably several messages; use parseBatch. */
  | 'MULTIPLE_MESSAGES'
  /** A line contains `| OBX|`-like text: two segments run together (a lost terminator). */
  | 'EMBEDDED_SEGMENT'
  /** BTS-1 / FTS-1 does not match the number of messages / batches. */
  | 'BATCH_COUNT_MISMATCH'
  /** MSH-2 has its escape character doubled (`^~\\&`): read as one; see readEncodingCharacters(). */
  | 'DOUBLED_ESCAPE_CHAR';

/** Something odd that did not stop parsing. Names positions only, never content. */
export interface Hl7ParseWarning {
  reason: Hl7WarningReason;
  /** 0-based index into the `segments` of the message (or lines of a batch file). */
  segmentIndex: number;
}

export interface Hl7Message {
  /** A UTF-8 byte order mark (U+FEFF) preceded MSH; serialize() writes it back. */
  bom?: true;
  delimiters: Hl7Delimiters;
  /** The terminator after the first segment (`\r`, `\n` or `\r\n`); used for new segments. */
  lineEnding: string;
  segments: Hl7Segment[];
  warnings: Hl7ParseWarning[];
}

export interface Hl7ParseOptions {
  /**
   * Turn every warning (bad segment ID, second MSH, segments run together,
   * batch count mismatch) into an Hl7ParseError.
   * Default false: such segments are kept verbatim and reported in `warnings`.
   */
  strict?: boolean;
  /**
   * Warnings that stay warnings in strict mode: ones known to hide no content,
   * such as DOUBLED_ESCAPE_CHAR.
   */
  tolerate?: readonly Hl7WarningReason[];
  /**
   * Accept a message whose last segment has no terminator. Default false:
   * HL7 ends every segment, the last one included, with CR, so a missing
   * terminator is the only trace a cut-off message leaves (TRUNCATED).
   */
  allowUnterminated?: boolean;
}

/** Anything that carries delimiters: a message, a batch, a batch group. */
export interface Hl7DelimiterContext {
  delimiters: Hl7Delimiters;
}
