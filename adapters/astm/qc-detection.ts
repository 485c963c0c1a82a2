import type { AstmDelimiters } from './delimiters';
import type { QcRules } from './instrument-profile';
import type { QcReason } from './lab-result';
import type { AstmOrderGroup, AstmPatientGroup } from './message';
import { fieldValue } from './record';

/**
 * Decide whether an order's results are QC, by the instrument's own
 * conventions. Checked in this order, the first match wins:
 *
 * 1. O.12 action code `Q` (E1394 §9, test order record, field 12: "QC test specimen"), or the
 *    profile's own action codes;
 * 2. specimen ID prefix (`QC`, `CTRL`, control lot names), case-insensitive;
 * 3. specimen ID pattern (a regular expression);
 * 4. no P record before the O record (instruments that send control runs
 *    without a patient), unless the profile turns that off.
 *
 * @returns the reason, or undefined for a patient result
 */
export function detectQc(
  patient: AstmPatientGroup,
  order: AstmOrderGroup,
  specimenId: string,
  d: AstmDelimiters,
  rules: QcRules = {},
): QcReason | undefined {
  const action = order.record ? (fieldValue(order.record, 12, d) ?? '').trim().toUpperCase() : '';
  const actionCodes = (rules.actionCodes ?? ['Q']).map((c) => c.toUpperCase());
  if (action !== '' && actionCodes.includes(action)) return 'action-code';
  const id = specimenId.toUpperCase();
  if ((rules.specimenIdPrefixes ?? []).some((p) => p !== '' && id.startsWith(p.toUpperCase()))) return 'specimen-prefix';
  if (rules.specimenIdPattern !== undefined && new RegExp(rules.specimenIdPattern).test(specimenId)) return 'specimen-pattern';
  if (!patient.record && (rules.orderWithoutPatient ?? true)) return 'no-patient';
  return undefined;
}
