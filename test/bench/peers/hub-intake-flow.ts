/**
 * The flow the hub runs in `bench:mllp`: the reference HL7 intake tab as
 * shipped (flows/hl7-intake.json: mllp-listener after commit with a 5-minute
 * duplicate window and enhanced ACKs, mllp-in, a switch routing by type to
 * link outs), loaded alone. The tabs its link outs lead to (lab results,
 * orders) are left out: their queues, patient matching and EMR calls would
 * swamp what this benchmark is about, the intake.
 */
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * @param root - the project root (holding flows/)
 * @returns a flows directory (HUB_FLOWS_DIR) holding only the HL7 intake tab
 */
export function hubIntakeFlowsDir(root: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-flows-'));
  copyFileSync(join(root, 'flows', 'hl7-intake.json'), join(dir, 'hl7-intake.json'));
  return dir;
}
