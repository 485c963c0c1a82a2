import { read837P, submissionFileName } from '../../adapters/x12';
import type { SubmissionManifest } from '../../adapters/x12';

/**
 * The manifest of an interchange x12-837p built earlier and stored: when a
 * retry reuses the stored interchange (instead of building a second one
 * with new control numbers, which a clearinghouse would take as a second
 * claim), the manifest is read back from it.
 *
 * Candidate for adapters/x12 (submission.ts).
 * @param x12 - the stored interchange
 * @param createdAt - when it was built (the stored record's time)
 */
export function manifestFromInterchange(x12: string, createdAt: Date): { manifest: SubmissionManifest; fileName: string } {
  const read = read837P(x12);
  const doc = read.document;
  const manifest: SubmissionManifest = {
    interchangeControlNumber: doc.interchangeControlNumber,
    groupControlNumber: doc.groups[0]?.controlNumber ?? '',
    senderId: doc.senderId,
    receiverId: doc.receiverId,
    transactions: doc.groups.flatMap((g) =>
      g.transactions
        .filter((t) => t.setId === '837')
        .map((t) => ({
          controlNumber: t.controlNumber,
          claimIds: read.claims.filter((c) => c.transactionControlNumber === t.controlNumber && c.groupControlNumber === g.controlNumber).map((c) => c.claimId),
        })),
    ),
    createdAt: createdAt.toISOString(),
  };
  return { manifest, fileName: submissionFileName(manifest) };
}
