import type { AstmDelimiters } from './delimiters';
import type { AstmRecord } from './record';

/**
 * An E1394 message (H .. L) as a record hierarchy (E1394 §5, message structure):
 *
 * ```
 * H ─┬─ C, M
 *    ├─ P ─┬─ C, M
 *    │     └─ O ─┬─ C, M
 *    │           └─ R ── C, M
 *    ├─ Q ── C
 *    └─ L
 * ```
 *
 * `records` keeps every record in arrival order (manufacturer M and
 * scientific S records included), so serializing it reproduces the message;
 * the tree only points into it.
 */
export interface AstmMessage {
  delimiters: AstmDelimiters;
  records: AstmRecord[];
  header: AstmRecord;
  /** L record; absent when the sender sent none (EUROIMMUN Analyzer I). */
  terminator?: AstmRecord;
  /** C records directly under H. */
  comments: AstmRecord[];
  /** M records directly under H. */
  manufacturer: AstmRecord[];
  patients: AstmPatientGroup[];
  queries: AstmQueryGroup[];
  warnings: AstmMessageWarning[];
}

export interface AstmPatientGroup {
  /** Undefined for orders sent without a P record (QC on several instruments). */
  record?: AstmRecord;
  comments: AstmRecord[];
  manufacturer: AstmRecord[];
  orders: AstmOrderGroup[];
}

export interface AstmOrderGroup {
  /** Undefined for R records that arrived without an O record (a warning says so). */
  record?: AstmRecord;
  comments: AstmRecord[];
  manufacturer: AstmRecord[];
  results: AstmResultGroup[];
}

export interface AstmResultGroup {
  record: AstmRecord;
  comments: AstmRecord[];
  manufacturer: AstmRecord[];
}

export interface AstmQueryGroup {
  record: AstmRecord;
  comments: AstmRecord[];
}

export type AstmMessageWarningReason =
  /** An R record with no O record before it. */
  | 'ORPHAN_RESULT'
  /** A record type outside H P O R C Q M S L. */
  | 'UNKNOWN_RECORD_TYPE'
  /** The message ended without an L record. */
  | 'NO_TERMINATOR';

/** Something odd that did not stop parsing. Names positions only, never content. */
export interface AstmMessageWarning {
  reason: AstmMessageWarningReason;
  /** 0-based index into `records`. */
  recordIndex: number;
}
