/**
 * Plain-data model of an X12 interchange as read by `readInterchange`. It is
 * independent of node-x12's classes so callers (and nodes) get JSON-safe data.
 */

/** The four separators an ISA declares (X12.5: ISA is fixed-format; the separators are discovered from it). */
export interface X12Delimiters {
  /** Data element separator: ISA's 4th character. */
  element: string;
  /** Segment terminator: the character after ISA16. */
  segment: string;
  /** Component (sub-element) separator: ISA16. */
  component: string;
  /** Repetition separator: ISA11 from version 00402 on; absent when ISA11 is the old `U` standards identifier. */
  repetition?: string;
}

export interface X12Segment {
  tag: string;
  /** `elements[0]` is XX01. Trailing empty elements are not stored by senders, so read with `element()`. */
  elements: string[];
  /** 1-based position within the transaction set (ST = 1); for envelope segments, within the interchange. */
  position: number;
}

export interface X12TransactionSet {
  /** ST01, e.g. `837`, `835`, `999`. */
  setId: string;
  /** ST02. */
  controlNumber: string;
  /** ST03 (implementation convention reference), or GS08 when ST03 is absent. */
  version: string;
  header: X12Segment;
  /** The segments between ST and SE, positions 2..n. */
  segments: X12Segment[];
  /** Absent when the transaction set is truncated. */
  trailer?: X12Segment;
}

export interface X12FunctionalGroup {
  /** GS01: HC = 837, HP = 835, FA = 999. */
  functionalId: string;
  /** GS06. */
  controlNumber: string;
  /** GS08. */
  version: string;
  senderCode: string;
  receiverCode: string;
  header: X12Segment;
  transactions: X12TransactionSet[];
  trailer?: X12Segment;
}

export interface X12Document {
  delimiters: X12Delimiters;
  /** ISA01..ISA16 exactly as in the text (fixed-width, padded). */
  isa: string[];
  /** ISA13, 9 digits. */
  interchangeControlNumber: string;
  /** ISA06 / ISA08 without padding. */
  senderId: string;
  receiverId: string;
  /** ISA15: P production, T test. */
  usage: string;
  groups: X12FunctionalGroup[];
  /** Interchange acknowledgments (TA1) found at interchange level. */
  ta1: X12Segment[];
  /** IEA, absent when truncated. */
  trailer?: X12Segment;
  /** Tolerated deviations (truncation, wrong counts, quirks). Identifier-only text. */
  warnings: string[];
}

/** XXnn of a segment (1-based), `''` when absent. */
export function element(segment: X12Segment | undefined, index: number): string {
  return segment?.elements[index - 1] ?? '';
}
