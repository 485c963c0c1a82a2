import { addSegment, parse, segmentSet, serialize, set } from '../hl7';
import type { Hl7Message, Hl7Segment } from '../hl7';
import { AstmQcRoutingError } from './errors';
import { groupBySpecimen } from './fhir';
import type { LabResult, LabResultStatus } from './lab-result';

export interface OruOptions {
  /** MSH-3. */
  sendingApplication: string;
  /** MSH-4. */
  sendingFacility?: string;
  /** MSH-5. */
  receivingApplication?: string;
  /** MSH-6. */
  receivingFacility?: string;
  /** MSH-10: unique per message (the store's message id suits). */
  controlId: string;
  /** MSH-7; default now. */
  at?: Date;
  /** MSH-11: P (default), T, D. */
  processingId?: string;
  /** PID-3.4 assigning authority of the patient ID. */
  patientIdAuthority?: string;
}

/** OBX-11 / OBR-25 result status (HL7 table 0085). */
const OBX_STATUS: Record<LabResultStatus, string> = {
  final: 'F',
  corrected: 'C',
  preliminary: 'P',
  pending: 'I',
  cancelled: 'X',
  unknown: 'P',
};

/** ISO 8601 (with offset) to HL7 DTM: `2026-12-03T10:15:00+01:00` → `20261203101500+0100`. */
export function isoToHl7(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(Z|[+-]\d{2}:\d{2}))?$/.exec(iso);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, z] = m;
  if (h === undefined) return `${y}${mo}${d}`;
  return `${y}${mo}${d}${h}${mi}${s}${z === 'Z' ? '+0000' : z!.replace(':', '')}`;
}

function hl7Now(at: Date): string {
  return isoToHl7(at.toISOString().replace(/\.\d{3}Z$/, 'Z'))!;
}

/**
 * Patient results as one HL7 v2.5.1 ORU^R01 message: PID per patient, then
 * ORC/OBR per specimen with its OBX segments and NTE notes (comments, the
 * dilution, ARCHITECT-style interpretation text). Built with adapters/hl7
 * (`set`, `segmentSet`), so every value is escaped for HL7.
 *
 * Censored values are structured numerics (OBX-2 `SN`, OBX-5 `<^0.05`);
 * text values are `ST`; LOINC goes in OBX-3 with the instrument code as
 * the alternate identifier.
 *
 * @param results - patient results (QC results are refused)
 * @param options - MSH fields
 * @throws AstmQcRoutingError when a QC result is among them
 */
export function toOruR01(results: readonly LabResult[], options: OruOptions): string {
  for (const r of results) if (r.kind !== 'patient') throw new AstmQcRoutingError(r.test.code);
  const msg = parse('MSH|^~\\&\r');
  set(msg, 'MSH-3', options.sendingApplication);
  if (options.sendingFacility) set(msg, 'MSH-4', options.sendingFacility);
  if (options.receivingApplication) set(msg, 'MSH-5', options.receivingApplication);
  if (options.receivingFacility) set(msg, 'MSH-6', options.receivingFacility);
  set(msg, 'MSH-7', hl7Now(options.at ?? new Date()));
  set(msg, 'MSH-9.1', 'ORU');
  set(msg, 'MSH-9.2', 'R01');
  set(msg, 'MSH-9.3', 'ORU_R01');
  set(msg, 'MSH-10', options.controlId);
  set(msg, 'MSH-11', options.processingId ?? 'P');
  set(msg, 'MSH-12', '2.5.1');

  let pidCount = 0;
  let lastPatient: string | undefined;
  let obrCount = 0;
  for (const group of groupBySpecimen(results)) {
    const first = group[0]!;
    const patientKey = JSON.stringify(first.patient ?? null);
    if (patientKey !== lastPatient) {
      lastPatient = patientKey;
      addPid(msg, ++pidCount, first, options);
    }
    const orc = addSegment(msg, 'ORC');
    segmentSet(msg, orc, '1', 'RE');
    segmentSet(msg, orc, '3.1', first.specimenId);
    const obr = addSegment(msg, 'OBR');
    segmentSet(msg, obr, '1', String(++obrCount));
    segmentSet(msg, obr, '3.1', first.specimenId);
    segmentSet(msg, obr, '4.1', '11502-2');
    segmentSet(msg, obr, '4.2', 'Laboratory report');
    segmentSet(msg, obr, '4.3', 'LN');
    setIf(msg, obr, '7', isoToHl7(first.collectedAt));
    const completed = group.map((r) => r.completedAt).filter((t): t is string => t !== undefined).sort();
    setIf(msg, obr, '22', isoToHl7(completed[completed.length - 1]));
    const statuses = new Set(group.map((r) => OBX_STATUS[r.status]));
    segmentSet(msg, obr, '25', statuses.size === 1 ? [...statuses][0]! : statuses.has('C') && !statuses.has('P') ? 'C' : 'P');
    group.forEach((r, i) => addObx(msg, i + 1, r));
  }
  return serialize(msg);
}

function addPid(msg: Hl7Message, n: number, r: LabResult, options: OruOptions): void {
  const pid = addSegment(msg, 'PID');
  segmentSet(msg, pid, '1', String(n));
  const p = r.patient;
  if (p?.id) {
    segmentSet(msg, pid, '3.1', p.id);
    if (options.patientIdAuthority) segmentSet(msg, pid, '3.4', options.patientIdAuthority);
    segmentSet(msg, pid, '3.5', 'MR');
  }
  if (p?.name) {
    segmentSet(msg, pid, '5.1', p.name.family);
    if (p.name.given) segmentSet(msg, pid, '5.2', p.name.given);
    if (p.name.middle) segmentSet(msg, pid, '5.3', p.name.middle);
  }
  if (p?.birthDate) segmentSet(msg, pid, '7', p.birthDate.replace(/-/g, ''));
  if (p?.sex) segmentSet(msg, pid, '8', p.sex);
}

function addObx(msg: Hl7Message, n: number, r: LabResult): void {
  const obx = addSegment(msg, 'OBX');
  segmentSet(msg, obx, '1', String(n));
  const v = r.value;
  const type = v.type === 'quantity' ? (v.comparator ? 'SN' : 'NM') : 'ST';
  segmentSet(msg, obx, '2', type);
  segmentSet(msg, obx, '3.1', r.test.loinc);
  segmentSet(msg, obx, '3.2', r.test.display);
  segmentSet(msg, obx, '3.3', 'LN');
  segmentSet(msg, obx, '3.4', r.test.code);
  segmentSet(msg, obx, '3.5', r.test.name ?? r.test.code);
  segmentSet(msg, obx, '3.6', 'L');
  if (v.type === 'quantity' && v.comparator) {
    segmentSet(msg, obx, '5.1', v.comparator);
    segmentSet(msg, obx, '5.2', String(v.value));
  } else if (v.type === 'quantity') {
    segmentSet(msg, obx, '5', String(v.value));
  } else if (v.type === 'text') {
    segmentSet(msg, obx, '5', v.text);
  }
  if (v.type === 'quantity') {
    segmentSet(msg, obx, '6.1', r.unit.ucum);
    segmentSet(msg, obx, '6.2', r.unit.reported || r.unit.ucum);
    segmentSet(msg, obx, '6.3', 'UCUM');
  }
  const range = r.referenceRange;
  if (range) segmentSet(msg, obx, '7', range.low !== undefined && range.high !== undefined ? `${range.low}-${range.high}` : range.text);
  r.interpretation.forEach((flag, i) => segmentSet(msg, obx, `8[${i + 1}]`, flag));
  segmentSet(msg, obx, '11', OBX_STATUS[r.status]);
  setIf(msg, obx, '14', isoToHl7(r.collectedAt));
  segmentSet(msg, obx, '18', r.instrumentId);
  setIf(msg, obx, '19', isoToHl7(r.completedAt ?? r.startedAt));
  let nte = 0;
  const note = (text: string): void => {
    const seg = addSegment(msg, 'NTE');
    segmentSet(msg, seg, '1', String(++nte));
    segmentSet(msg, seg, '2', 'L');
    segmentSet(msg, seg, '3', text);
  };
  if (r.interpretationText) note(`Interpretation: ${r.interpretationText}`);
  if (r.dilution) note(`Dilution: ${r.dilution.text}`);
  for (const c of r.comments) note(c);
}

function setIf(msg: Hl7Message, segment: Hl7Segment, path: string, value: string | undefined): void {
  if (value !== undefined && value !== '') segmentSet(msg, segment, path, value);
}
