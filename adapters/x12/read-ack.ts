import { X12ParseError } from './errors';
import { readInterchange } from './reader';
import type { X12Document, X12Segment } from './types';
import { element } from './types';

/**
 * Acknowledgments of a submitted interchange: TA1 (interchange, X12.5/X12.26)
 * and 999 (implementation acknowledgment, 005010X231A1).
 */

/** TA1: did the receiver accept the envelope? */
export interface InterchangeAck {
  /** TA101: ISA13 of the interchange acknowledged. */
  interchangeControlNumber: string;
  date: string;
  time: string;
  /** TA104: A accepted, E accepted with errors, R rejected. */
  code: 'A' | 'E' | 'R' | string;
  /** TA105 interchange note code (000 = no error, 001-031 = envelope errors). */
  noteCode: string;
}

export interface SegmentError {
  /** IK301 segment ID, IK302 position in the transaction set, IK303 loop, IK304 syntax error code. */
  segmentId: string;
  position: number;
  loop: string;
  code: string;
  elements: { position: string; reference: string; code: string }[];
}

export interface TransactionAck {
  /** AK201 (e.g. 837) and AK202 (ST02 acknowledged). */
  setId: string;
  controlNumber: string;
  /** IK501: A accepted, E accepted with errors, M/R/W/X rejected. Absent when the 999 is truncated. */
  code?: string;
  /** IK502..IK506 implementation transaction set syntax error codes. */
  errorCodes: string[];
  segmentErrors: SegmentError[];
}

export interface GroupAck {
  /** AK101 functional identifier (HC = 837) and AK102 (GS06 acknowledged). */
  functionalId: string;
  groupControlNumber: string;
  version: string;
  transactions: TransactionAck[];
  /** AK901: A, E, P (partially accepted), R, M, W, X. Absent when the 999 is truncated. */
  code?: string;
  /** AK902 included, AK903 received, AK904 accepted transaction sets. */
  included?: number;
  received?: number;
  accepted?: number;
  errorCodes: string[];
}

export interface Acknowledgment {
  /** The acknowledgment's own ISA13. */
  interchangeControlNumber: string;
  interchanges: InterchangeAck[];
  groups: GroupAck[];
  /** Identifier-only notes: truncation, counts that do not add up. */
  warnings: string[];
}

/**
 * Read the TA1 segments and 999 transaction sets of an interchange. An
 * interchange with neither is not an acknowledgment.
 * @param input - X12 text, or a document from `readInterchange`
 * @throws X12ParseError UNSUPPORTED_TRANSACTION when there is no TA1 and no 999
 */
export function readAcknowledgment(input: string | Buffer | X12Document): Acknowledgment {
  const doc = typeof input === 'string' || Buffer.isBuffer(input) ? readInterchange(input) : input;
  const warnings = [...doc.warnings];
  const interchanges = doc.ta1.map(
    (s): InterchangeAck => ({
      interchangeControlNumber: element(s, 1).padStart(9, '0'),
      date: element(s, 2),
      time: element(s, 3),
      code: element(s, 4),
      noteCode: element(s, 5),
    }),
  );
  const groups: GroupAck[] = [];
  for (const group of doc.groups) {
    for (const set of group.transactions) {
      if (set.setId !== '999') continue;
      groups.push(...read999(set.segments, set.controlNumber, warnings));
    }
  }
  if (interchanges.length === 0 && groups.length === 0) {
    throw new X12ParseError('interchange holds no TA1 and no 999 acknowledgment', 'UNSUPPORTED_TRANSACTION', { segment: 'ST' });
  }
  return { interchangeControlNumber: doc.interchangeControlNumber, interchanges, groups, warnings };
}

function read999(segs: X12Segment[], st02: string, warnings: string[]): GroupAck[] {
  const groups: GroupAck[] = [];
  let group: GroupAck | undefined;
  let txn: TransactionAck | undefined;
  let segError: SegmentError | undefined;
  for (const seg of segs) {
    switch (seg.tag) {
      case 'AK1':
        group = { functionalId: element(seg, 1), groupControlNumber: element(seg, 2), version: element(seg, 3), transactions: [], errorCodes: [] };
        groups.push(group);
        txn = undefined;
        break;
      case 'AK2':
        if (!group) break;
        txn = { setId: element(seg, 1), controlNumber: element(seg, 2), errorCodes: [], segmentErrors: [] };
        group.transactions.push(txn);
        segError = undefined;
        break;
      case 'IK3':
        if (!txn) break;
        segError = { segmentId: element(seg, 1), position: Number(element(seg, 2)), loop: element(seg, 3), code: element(seg, 4), elements: [] };
        txn.segmentErrors.push(segError);
        break;
      case 'IK4':
        // IK401 is a composite (position[:component[:repetition]]); IK402 data element reference; IK403 error code.
        segError?.elements.push({ position: element(seg, 1), reference: element(seg, 2), code: element(seg, 3) });
        break;
      case 'IK5':
        if (!txn) break;
        txn.code = element(seg, 1);
        txn.errorCodes = seg.elements.slice(1).filter((e) => e !== '');
        txn = undefined;
        break;
      case 'AK9':
        if (!group) break;
        group.code = element(seg, 1);
        group.included = Number(element(seg, 2));
        group.received = Number(element(seg, 3));
        group.accepted = Number(element(seg, 4));
        group.errorCodes = seg.elements.slice(4).filter((e) => e !== '');
        break;
    }
  }
  for (const g of groups) {
    if (g.code === undefined) warnings.push(`999 ${st02}: AK9 missing for group ${g.groupControlNumber} (truncated acknowledgment)`);
    for (const t of g.transactions) if (t.code === undefined) warnings.push(`999 ${st02}: IK5 missing for transaction set ${t.controlNumber}`);
  }
  return groups;
}
