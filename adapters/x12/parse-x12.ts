import { X12ParseError } from './errors';
import type { X12ValidationIssue } from './errors';
import { read835 } from './read-835';
import type { Remittance } from './read-835';
import { read837P } from './read-837p';
import type { Read837Claim } from './read-837p';
import { readAcknowledgment } from './read-ack';
import type { Acknowledgment } from './read-ack';
import { readInterchange } from './reader';
import { remittanceEvents } from './remittance-events';
import type { RemittanceEvent } from './remittance-events';
import { validate837P } from './validate-837p';

/** What `parseX12` found; `kind` says which transaction the interchange carries. */
export type ParsedX12 =
  | { kind: '835'; interchangeControlNumber: string; remittances: Remittance[]; events: RemittanceEvent[]; warnings: string[] }
  | { kind: 'ack'; interchangeControlNumber: string; acknowledgment: Acknowledgment; warnings: string[] }
  | { kind: '837P'; interchangeControlNumber: string; claims: Read837Claim[]; issues: X12ValidationIssue[]; warnings: string[] };

/**
 * Read an inbound interchange by what it holds: 835 remittance (with EMR
 * events), TA1/999 acknowledgment, or 837P claims (with validation issues).
 * The entry point of the x12-parse node.
 * @param raw - X12 text or bytes
 * @throws X12ParseError for other transaction sets or unreadable input
 */
export function parseX12(raw: string | Buffer): ParsedX12 {
  const doc = readInterchange(raw);
  const setIds = new Set(doc.groups.flatMap((g) => g.transactions.map((t) => t.setId)));
  const icn = doc.interchangeControlNumber;
  if (setIds.has('835')) {
    const r = read835(doc);
    return { kind: '835', interchangeControlNumber: icn, remittances: r.remittances, events: r.remittances.flatMap(remittanceEvents), warnings: r.warnings };
  }
  if (setIds.has('999') || (setIds.size === 0 && doc.ta1.length > 0)) {
    const acknowledgment = readAcknowledgment(doc);
    return { kind: 'ack', interchangeControlNumber: icn, acknowledgment, warnings: acknowledgment.warnings };
  }
  if (setIds.has('837')) {
    return { kind: '837P', interchangeControlNumber: icn, claims: read837P(doc).claims, issues: validate837P(doc), warnings: doc.warnings };
  }
  throw new X12ParseError(`unsupported transaction set ${[...setIds].join(',') || '(none)'}`, 'UNSUPPORTED_TRANSACTION', { segment: 'ST' });
}
