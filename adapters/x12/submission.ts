/**
 * What was sent in one 837P interchange: which claim went in which transaction
 * set. 999 (AK2/IK5) and TA1 acknowledge transaction sets and interchanges,
 * not claims, so this manifest is what turns an acknowledgment into an
 * accept/reject per claim (`correlateAcknowledgment`). Persist it with the
 * outbound message.
 */
export interface SubmissionManifest {
  /** ISA13, nine digits. */
  interchangeControlNumber: string;
  /** GS06. */
  groupControlNumber: string;
  /** ISA06 / ISA08, unpadded. */
  senderId: string;
  receiverId: string;
  transactions: { controlNumber: string; claimIds: string[] }[];
  /** ISO timestamp of ISA09/ISA10. */
  createdAt: string;
}

/** A file name clearinghouses accept: sender, ISA13 (unique), no spaces or PHI. */
export function submissionFileName(manifest: Pick<SubmissionManifest, 'senderId' | 'interchangeControlNumber'>): string {
  const sender = manifest.senderId.replace(/[^A-Za-z0-9]/g, '').slice(0, 15) || 'SENDER';
  return `${sender}_${manifest.interchangeControlNumber}.837`;
}
