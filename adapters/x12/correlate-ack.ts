import type { Acknowledgment, GroupAck, InterchangeAck, TransactionAck } from './read-ack';
import type { SubmissionManifest } from './submission';

/**
 * Outcome of one submitted claim according to an acknowledgment.
 * `pending`: this acknowledgment says nothing final about it (a TA1 that
 * accepts the envelope still leaves the 999 to come).
 */
export type ClaimAckStatus = 'accepted' | 'accepted-with-errors' | 'rejected' | 'pending';

export interface ClaimAckResult {
  claimId: string;
  status: ClaimAckStatus;
  /** Which level decided: TA1 (interchange), AK9 (group) or AK2/IK5 (transaction). */
  level?: 'interchange' | 'group' | 'transaction';
  interchangeControlNumber: string;
  groupControlNumber: string;
  transactionControlNumber: string;
  /** TA105, IK502.., or AK905.. codes. */
  errorCodes: string[];
  /** IK3 segment errors: segment ID, position in the transaction set and syntax code (no data). */
  segmentErrors: { segmentId: string; position: number; loop: string; code: string }[];
}

const sameNumber = (a: string, b: string): boolean => a !== '' && b !== '' && Number(a) === Number(b);

/**
 * Map a TA1/999 onto the claims of one submission.
 * @param ack - from `readAcknowledgment`
 * @param manifest - from `Claim837Builder.build`, kept with the outbound message
 * @returns one result per claim of the manifest
 */
export function correlateAcknowledgment(ack: Acknowledgment, manifest: SubmissionManifest): ClaimAckResult[] {
  const ta1 = ack.interchanges.find((i) => sameNumber(i.interchangeControlNumber, manifest.interchangeControlNumber));
  const group = ack.groups.find((g) => (g.functionalId === 'HC' || g.functionalId === '') && sameNumber(g.groupControlNumber, manifest.groupControlNumber));
  const out: ClaimAckResult[] = [];
  for (const t of manifest.transactions) {
    const txn = group?.transactions.find((x) => x.setId === '837' && sameNumber(x.controlNumber, t.controlNumber)) ?? group?.transactions.find((x) => x.controlNumber === t.controlNumber);
    const decided = decide(ta1, group, txn);
    for (const claimId of t.claimIds) {
      out.push({
        claimId,
        ...decided,
        interchangeControlNumber: manifest.interchangeControlNumber,
        groupControlNumber: manifest.groupControlNumber,
        transactionControlNumber: t.controlNumber,
        segmentErrors: (txn?.segmentErrors ?? []).map((e) => ({ segmentId: e.segmentId, position: e.position, loop: e.loop, code: e.code })),
      });
    }
  }
  return out;
}

function decide(ta1: InterchangeAck | undefined, group: GroupAck | undefined, txn: TransactionAck | undefined): Pick<ClaimAckResult, 'status' | 'level' | 'errorCodes'> {
  // TA104 R: the envelope was refused, so no group or transaction inside it was processed.
  if (ta1?.code === 'R') return { status: 'rejected', level: 'interchange', errorCodes: [ta1.noteCode] };
  if (txn?.code) return { status: mapCode(txn.code), level: 'transaction', errorCodes: txn.errorCodes };
  if (group?.code) {
    // Without an AK2 for this set, AK9 speaks for every set of the group (A/E/R); P means "some": undecided.
    const status = group.code === 'P' ? 'pending' : mapCode(group.code);
    return { status, level: 'group', errorCodes: group.errorCodes };
  }
  return { status: 'pending', errorCodes: [] };
}

function mapCode(code: string): ClaimAckStatus {
  if (code === 'A') return 'accepted';
  if (code === 'E') return 'accepted-with-errors';
  return 'rejected';
}
