import { createHash } from 'node:crypto';
import type { IntegrationError } from '../shared/errors';
import { astmToIso } from './astm-time';
import type { AstmDelimiters } from './delimiters';
import { AstmParseError, AstmUnitMismatchError, AstmUnmappedTestError } from './errors';
import type { FieldRef, InstrumentProfile } from './instrument-profile';
import type { LabPatient, LabResult, LabResultStatus } from './lab-result';
import type { AstmMessage, AstmOrderGroup, AstmPatientGroup, AstmResultGroup } from './message';
import { detectQc } from './qc-detection';
import { fieldRepeats, fieldText, fieldValue } from './record';
import type { AstmRecord } from './record';
import { parseDilution, parseReferenceRange, parseValue } from './result-value';

export interface NormalizedResults {
  /** Results for patient records. */
  results: LabResult[];
  /** QC results: their own output, never a patient record. */
  qc: LabResult[];
  /**
   * Results that could not be normalized, one error each (unmapped test
   * code, unit not in the mapping, no specimen ID). The other results of the
   * message are still returned.
   */
  errors: IntegrationError[];
}

/** E1394 R.9 result status codes (E1394 / LIS2-A2 §10, result record, field 9). */
const STATUS: Record<string, LabResultStatus> = {
  F: 'final',
  C: 'corrected',
  P: 'preliminary',
  S: 'preliminary', // partial
  W: 'preliminary', // warning: validity questionable
  I: 'pending', // in instrument, results pending
  X: 'cancelled', // order cannot be done
  R: 'final', // previously transmitted
  V: 'final', // operator verified
  Q: 'final', // response to query
  M: 'final', // MIC level
  N: 'final', // new results
};

/** Abnormal flags shared by E1394 R.7, HL7 table 0078 and FHIR v3 ObservationInterpretation. */
const INTERPRETATION = new Set(['L', 'H', 'LL', 'HH', '<', '>', 'N', 'A', 'AA', 'U', 'D', 'B', 'W']);
/** Flags that only make sense against a normal range. */
const RANGE_FLAGS = new Set(['L', 'H', 'LL', 'HH', 'N', 'A', 'AA']);

const DEFAULT_SPECIMEN_FIELDS: FieldRef[] = [
  { record: 'O', field: 3, component: 1 },
  { record: 'O', field: 4, component: 1 },
];

/**
 * Turn the results of one E1394 message into canonical lab results through
 * the instrument's profile (field positions, QC rules, mapping table).
 * Test codes are looked up exactly; there is no fallback: an unmapped code
 * is an AstmUnmappedTestError in `errors`, naming the code.
 *
 * @param message - a parsed message (from AstmConnection or parseRecordStream)
 * @param profile - the instrument's profile; see validateProfile
 */
export function normalizeMessage(message: AstmMessage, profile: InstrumentProfile): NormalizedResults {
  const out: NormalizedResults = { results: [], qc: [], errors: [] };
  const d = message.delimiters;
  message.patients.forEach((patient, pi) => {
    const labPatient = patient.record ? readPatient(patient.record, d, profile) : undefined;
    patient.orders.forEach((order, oi) => {
      const interpretations = collectInterpretations(order, d, profile);
      order.results.forEach((result, ri) => {
        try {
          const r = normalizeResult({ patient, order, result, labPatient, interpretations, d, profile, position: { patient: pi + 1, order: oi + 1, result: ri + 1 } });
          if (r) (r.kind === 'qc' ? out.qc : out.results).push(r);
        } catch (err) {
          out.errors.push(err as IntegrationError);
        }
      });
    });
  });
  return out;
}

interface ResultContext {
  patient: AstmPatientGroup;
  order: AstmOrderGroup;
  result: AstmResultGroup;
  labPatient: LabPatient | undefined;
  interpretations: Map<string, string>;
  d: AstmDelimiters;
  profile: InstrumentProfile;
  position: LabResult['position'];
}

function testCodeOf(record: AstmRecord, d: AstmDelimiters, profile: InstrumentProfile): string {
  return (fieldValue(record, 3, d, profile.testCodeComponent ?? 4) ?? '').trim();
}

function resultTypeOf(record: AstmRecord, d: AstmDelimiters, profile: InstrumentProfile): string | undefined {
  if (profile.resultTypeComponent === undefined) return undefined;
  return (fieldValue(record, 3, d, profile.resultTypeComponent) ?? '').trim().toUpperCase();
}

/** ARCHITECT sends the interpretation (`NEGATIVE`) as its own R record (type I) beside the value (type F). */
function collectInterpretations(order: AstmOrderGroup, d: AstmDelimiters, profile: InstrumentProfile): Map<string, string> {
  const map = new Map<string, string>();
  if (profile.resultTypeComponent === undefined) return map;
  const types = (profile.interpretationResultTypes ?? ['I']).map((t) => t.toUpperCase());
  for (const r of order.results) {
    const type = resultTypeOf(r.record, d, profile);
    if (type !== undefined && types.includes(type)) map.set(testCodeOf(r.record, d, profile), (fieldValue(r.record, 4, d) ?? '').trim());
  }
  return map;
}

function normalizeResult(c: ResultContext): LabResult | undefined {
  const { d, profile, order, result } = c;
  const r = result.record;
  const type = resultTypeOf(r, d, profile);
  if (type !== undefined && !(profile.valueResultTypes ?? ['F']).map((t) => t.toUpperCase()).includes(type)) return undefined;
  const code = testCodeOf(r, d, profile);
  const specimenId = readSpecimenId(c);
  const mapping = Object.prototype.hasOwnProperty.call(profile.tests, code) ? profile.tests[code] : undefined;
  if (!mapping) throw new AstmUnmappedTestError(profile.instrumentId, code);
  const reportedUnit = (fieldValue(r, 5, d) ?? '').trim();
  const accepted = (mapping.instrumentUnits ?? [mapping.unit]).map((u) => u.trim().toLowerCase());
  if (reportedUnit !== '' && !accepted.includes(reportedUnit.toLowerCase())) throw new AstmUnitMismatchError(profile.instrumentId, code, reportedUnit);

  const qcReason = detectQc(c.patient, order, specimenId, d, profile.qc);
  const value = parseValue(fieldValue(r, 4, d), profile.decimalComma);
  const flags = fieldRepeats(r, 7, d)
    .flat()
    .map((f) => f.trim())
    .filter((f) => f !== '');
  let interpretation = flags.map((f) => f.toUpperCase()).filter((f) => INTERPRETATION.has(f));
  let referenceRange = parseReferenceRange(fieldText(r, 6, d));
  if (mapping.ignoreReferenceRange) {
    referenceRange = undefined;
    interpretation = interpretation.filter((f) => !RANGE_FLAGS.has(f));
  }
  const statusCode = (fieldValue(r, 9, d) ?? '').trim().toUpperCase();
  const at = (rec: AstmRecord | undefined, n: number): string | undefined => (rec ? astmToIso(fieldValue(rec, n, d), profile.utcOffset) : undefined);
  const testName = (fieldValue(r, 3, d, (profile.testCodeComponent ?? 4) + 1) ?? '').trim();
  const lab: LabResult = {
    kind: qcReason ? 'qc' : 'patient',
    instrumentId: profile.instrumentId,
    specimenId,
    test: { code, loinc: mapping.loinc, display: mapping.display, ...(testName ? { name: testName } : {}) },
    value,
    unit: { ucum: mapping.unit, reported: reportedUnit },
    abnormalFlags: flags,
    interpretation: [...new Set(interpretation)],
    status: STATUS[statusCode] ?? 'unknown',
    statusCode,
    comments: result.comments.map((cm) => (fieldText(cm, 4, d) ?? '').trim()).filter((t) => t !== ''),
    position: c.position,
    resultKey: '',
  };
  if (qcReason) lab.qcReason = qcReason;
  if (!qcReason && c.labPatient) lab.patient = c.labPatient;
  if (profile.dilutionComponent !== undefined) {
    const dilution = parseDilution(fieldValue(r, 3, d, profile.dilutionComponent));
    if (dilution) lab.dilution = dilution;
  }
  if (referenceRange) lab.referenceRange = referenceRange;
  const interp = c.interpretations.get(code);
  if (interp) lab.interpretationText = interp;
  const times = { orderedAt: at(order.record, 7), collectedAt: at(order.record, 8), startedAt: at(r, 12), completedAt: at(r, 13) };
  for (const [k, v] of Object.entries(times)) if (v) (lab as unknown as Record<string, string>)[k] = v;
  const operator = (fieldValue(r, 11, d) ?? '').trim();
  if (operator) lab.operator = operator;
  const performedBy = (fieldValue(r, 14, d) ?? '').trim();
  if (performedBy) lab.performedBy = performedBy;
  lab.resultKey = createHash('sha256')
    .update([profile.instrumentId, specimenId, code, lab.completedAt ?? '', statusCode, value.text].join('\u001f'))
    .digest('hex');
  return lab;
}

function readSpecimenId(c: ResultContext): string {
  for (const ref of c.profile.specimenIdFields ?? DEFAULT_SPECIMEN_FIELDS) {
    const rec = ref.record === 'O' ? c.order.record : c.patient.record;
    const v = rec ? (fieldValue(rec, ref.field, c.d, ref.component ?? 1) ?? '').trim() : '';
    if (v !== '') return v;
  }
  throw new AstmParseError(`result ${c.position.patient}.${c.position.order}.${c.position.result} has no specimen ID`, 'BAD_VALUE');
}

function readPatient(p: AstmRecord, d: AstmDelimiters, profile: InstrumentProfile): LabPatient {
  const patient: LabPatient = {};
  for (const n of profile.patientIdFields ?? [3, 4, 5]) {
    const v = (fieldValue(p, n, d) ?? '').trim();
    if (v !== '') {
      patient.id = v;
      patient.idField = `P.${n}`;
      break;
    }
  }
  const family = (fieldValue(p, 6, d, 1) ?? '').trim();
  if (family !== '') {
    const given = (fieldValue(p, 6, d, 2) ?? '').trim();
    const middle = (fieldValue(p, 6, d, 3) ?? '').trim();
    patient.name = { family, ...(given ? { given } : {}), ...(middle ? { middle } : {}) };
  }
  const birth = astmToIso(fieldValue(p, 8, d), 'Z');
  if (birth) patient.birthDate = birth.slice(0, 10);
  const sex = (fieldValue(p, 9, d) ?? '').trim().toUpperCase();
  if (sex) patient.sex = sex;
  return patient;
}
