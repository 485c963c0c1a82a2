import { createHash } from 'node:crypto';
import { parseReferenceRange, parseValue } from '../astm/result-value';
import type { FhirCodeableConcept, FhirObservation } from '../astm/fhir';
import { get, segmentGet } from '../hl7';
import type { Hl7Message, Hl7Segment } from '../hl7';
import type { IntegrationError } from '../shared/errors';
import { LabMappingError } from './errors';
import { hl7ToIso } from './hl7-time';
import { toUcum } from './ucum';

/** A local (non-LOINC) test code of the LIS and what it means. */
export interface LabTestMapping {
  loinc: string;
  display?: string;
  /** UCUM unit of the value; the LIS's own unit text must map to it. */
  unit?: string;
  /** Reference ranges and range flags (H, L) do not apply, e.g. estradiol during stimulation. */
  ignoreReferenceRange?: boolean;
}

export interface OruResultOptions {
  /** LIS code → LOINC; consulted when OBX-3 carries no LOINC (`LN`) coding. */
  tests?: Record<string, LabTestMapping>;
  /** Specimen ids starting with one of these are QC material (control lots), case-insensitive. */
  qcSpecimenPrefixes?: string[];
  /** LOINC codes whose reference range must not be applied; default estradiol 2243-4 (stimulation values). */
  ignoreReferenceRangeLoinc?: string[];
  /** Offset for timestamps without one, e.g. `+01:00`. */
  utcOffset?: string;
  /** Prefix of the hub's identifier systems; default `urn:ivf-hub`. */
  systemBase?: string;
  /** System of patient identifiers (MRN); default `<base>:patient-id`, the same as the ASTM side. */
  patientIdSystem?: string;
}

/** A QC result: test, value and lot only; QC never carries patient data. */
export interface LabQcResult {
  kind: 'qc';
  reason: 'specimen-role' | 'specimen-prefix';
  sender: string;
  specimenId: string;
  test: { code: string; loinc?: string };
  value: string;
  unit: string;
  status: string;
  observedAt?: string;
}

export interface OruResults {
  /** Patient results as FHIR R4 Observations, subject by patient identifier (the EMR resolves it). */
  observations: FhirObservation[];
  qc: LabQcResult[];
  /** One per result that could not be mapped; the others are still returned. */
  errors: IntegrationError[];
}

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const DATA_ABSENT = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';

/** HL7 table 0369 specimen roles that are not a patient's specimen: control, calibrator, electronic/field QC. */
const QC_ROLES = new Set(['Q', 'C', 'E', 'F', 'V']);
/** HL7 table 0078 flags that FHIR v3 ObservationInterpretation shares. */
const FLAGS = new Set(['L', 'H', 'LL', 'HH', '<', '>', 'N', 'A', 'AA', 'U', 'D', 'B', 'W']);
const RANGE_FLAGS = new Set(['L', 'H', 'LL', 'HH', 'N', 'A', 'AA']);
/** HL7 table 0085 observation result status → FHIR Observation.status. */
const STATUS: Record<string, FhirObservation['status']> = {
  F: 'final',
  C: 'corrected',
  P: 'preliminary',
  R: 'preliminary',
  S: 'preliminary',
  I: 'registered',
  O: 'registered',
  X: 'cancelled',
  D: 'entered-in-error',
  W: 'entered-in-error',
  U: 'final',
};

interface OrderGroup {
  obr: Hl7Segment;
  patient: Hl7Segment | undefined;
  results: { obx: Hl7Segment; notes: string[] }[];
  spm: Hl7Segment | undefined;
}

/** ORU^R01 groups: each OBR with its OBX (and NTE under them), its SPM, and the PID before it. */
function groups(m: Hl7Message): OrderGroup[] {
  const out: OrderGroup[] = [];
  let patient: Hl7Segment | undefined;
  let current: OrderGroup | undefined;
  let inSpecimen = false;
  for (const seg of m.segments) {
    const id = seg.fields[0];
    if (id === 'PID') {
      patient = seg;
      current = undefined;
    } else if (id === 'OBR') {
      current = { obr: seg, patient, results: [], spm: undefined };
      inSpecimen = false;
      out.push(current);
    } else if (id === 'SPM' && current) {
      current.spm ??= seg;
      inSpecimen = true;
    } else if (id === 'OBX' && current && !inSpecimen) {
      current.results.push({ obx: seg, notes: [] });
    } else if (id === 'NTE' && current && !inSpecimen) {
      const last = current.results[current.results.length - 1];
      const text = segmentGet(m, seg, '3') ?? '';
      if (last && text) last.notes.push(text);
    }
  }
  return out;
}

/** The MRN among PID-3's repetitions: the one typed MR (CX.5), else the first. */
function patientId(m: Hl7Message, pid: Hl7Segment | undefined): string | undefined {
  if (!pid) return undefined;
  const reps = (pid.fields[3] ?? '').split(m.delimiters.repetition).length;
  let first: string | undefined;
  for (let r = 1; r <= reps; r++) {
    const value = segmentGet(m, pid, `3[${r}].1`);
    if (!value) continue;
    first ??= value;
    if (segmentGet(m, pid, `3[${r}].5`) === 'MR') return value;
  }
  return first;
}

function specimenIdOf(m: Hl7Message, g: OrderGroup): string | undefined {
  const candidates = g.spm ? [segmentGet(m, g.spm, '2.2.1'), segmentGet(m, g.spm, '2.1.1')] : [];
  candidates.push(segmentGet(m, g.obr, '3.1'), segmentGet(m, g.obr, '2.1'));
  return candidates.find((c): c is string => typeof c === 'string' && c !== '' && c !== '""');
}

function sha(parts: (string | undefined)[]): string {
  return createHash('sha256').update(parts.map((p) => p ?? '').join('\u001f')).digest('hex');
}

/**
 * The results of an HL7 v2 ORU^R01 (v2.3–2.5.1) as FHIR R4 Observations with
 * LOINC codes and UCUM units, the same shape the ASTM side produces, so both
 * feed one patient-match and EMR path. QC specimens (SPM-11 control,
 * calibrator or QC roles, or a configured specimen id prefix) are returned
 * apart and never as Observations. Censored values (`<0.5` in NM/ST, or SN
 * `<^0.5`) keep their comparator.
 *
 * Each Observation is identified by `<base>:hl7-result|<key>`, a hash over
 * sender, specimen, test, sub-id, time, status and value: a re-sent result
 * maps to the same identifier (conditional create makes nothing new), a
 * corrected one does not.
 *
 * @param m - the parsed ORU message
 * @param options - test mapping, QC rules, systems
 */
export function oruToObservations(m: Hl7Message, options: OruResultOptions = {}): OruResults {
  const base = options.systemBase ?? 'urn:ivf-hub';
  const patientSystem = options.patientIdSystem ?? `${base}:patient-id`;
  const ignoreRange = new Set(options.ignoreReferenceRangeLoinc ?? ['2243-4']);
  const qcPrefixes = (options.qcSpecimenPrefixes ?? []).filter((p) => p !== '').map((p) => p.toUpperCase());
  const sender = [get(m, 'MSH-3'), get(m, 'MSH-4')].filter(Boolean).join('@') || 'lis';
  const out: OruResults = { observations: [], qc: [], errors: [] };

  for (const g of groups(m)) {
    const specimenId = specimenIdOf(m, g);
    const role = g.spm ? (segmentGet(m, g.spm, '11.1') ?? '').toUpperCase() : '';
    const qcReason: LabQcResult['reason'] | undefined = QC_ROLES.has(role)
      ? 'specimen-role'
      : specimenId && qcPrefixes.some((p) => specimenId.toUpperCase().startsWith(p))
        ? 'specimen-prefix'
        : undefined;
    const mrn = patientId(m, g.patient);
    const orderTime = segmentGet(m, g.obr, '7');

    for (const { obx, notes } of g.results) {
      const at = (path: string): string => segmentGet(m, obx, path) ?? '';
      const code = at('3.1');
      const valueType = at('2').toUpperCase();
      const rawValue = valueType === 'SN' ? [at('5.1'), at('5.2')].join('') : at('5');
      const status = at('11').toUpperCase() || 'F';
      const observedAt = at('14') || orderTime;
      if (!specimenId) {
        out.errors.push(new LabMappingError(`result ${code || '(no code)'} has no specimen or order number`, 'no-specimen', code));
        continue;
      }
      const mapping = options.tests?.[code];
      const loinc = at('3.3') === 'LN' ? code : at('3.6') === 'LN' ? at('3.4') : mapping?.loinc;
      const unitText = at('6.1');
      if (qcReason) {
        const qcTime = hl7ToIso(observedAt, options.utcOffset);
        out.qc.push({ kind: 'qc', reason: qcReason, sender, specimenId, test: { code, ...(loinc ? { loinc } : {}) }, value: rawValue, unit: unitText, status, ...(qcTime ? { observedAt: qcTime } : {}) });
        continue;
      }
      if (!loinc) {
        out.errors.push(new LabMappingError(`test code ${code || '(none)'} has no LOINC code and no mapping`, 'unmapped-test', code));
        continue;
      }
      const value = parseValue(rawValue);
      const ucum = /^UCUM$/i.test(at('6.3')) ? unitText : mapping?.unit && (unitText === '' || toUcum(unitText) === mapping.unit || unitText === mapping.unit) ? mapping.unit : toUcum(unitText);
      if (value.type === 'quantity' && !ucum) {
        out.errors.push(new LabMappingError(`unit of test code ${code} is not a known UCUM unit`, 'unmapped-unit', code));
        continue;
      }
      const key = sha([sender, specimenId, code, at('4'), observedAt, status, rawValue, unitText]);
      const display = mapping?.display || at('3.2') || code;
      const obs: FhirObservation = {
        resourceType: 'Observation',
        identifier: [{ system: `${base}:hl7-result`, value: key }],
        status: STATUS[status] ?? 'unknown',
        category: [{ coding: [{ system: CATEGORY, code: 'laboratory', display: 'Laboratory' }] }],
        code: {
          coding: [{ system: LOINC, code: loinc, ...(display ? { display } : {}) }, ...(loinc !== code && code ? [{ system: `${base}:lis:${sender}:test`, code }] : [])],
          ...(display ? { text: display } : {}),
        },
        subject: mrn ? { identifier: { system: patientSystem, value: mrn } } : { display: 'unidentified patient' },
        specimen: { identifier: { system: `${base}:specimen-id`, value: specimenId } },
        device: { identifier: { system: `${base}:lis`, value: at('18.1') || sender } },
      };
      const effective = hl7ToIso(observedAt, options.utcOffset);
      if (effective) obs.effectiveDateTime = effective;
      const issued = hl7ToIso(at('19'), options.utcOffset);
      if (issued && issued.length > 10) obs.issued = issued;
      if (value.type === 'quantity' && ucum) {
        obs.valueQuantity = { value: value.value, ...(value.comparator ? { comparator: value.comparator } : {}), unit: unitText || ucum, system: UCUM, code: ucum };
      } else if (value.type !== 'absent') {
        obs.valueString = value.text;
      } else {
        obs.dataAbsentReason = { coding: [{ system: DATA_ABSENT, code: status === 'X' ? 'not-performed' : 'unknown' }] };
      }
      const noRange = ignoreRange.has(loinc) || mapping?.ignoreReferenceRange === true;
      const flags = (obx.fields[8] ?? '').split(m.delimiters.repetition).map((f) => f.trim().toUpperCase()).filter((f) => FLAGS.has(f) && !(noRange && RANGE_FLAGS.has(f)));
      if (value.type === 'quantity' && value.comparator && !flags.includes(value.comparator[0]!)) flags.push(value.comparator[0]!);
      const interpretation: FhirCodeableConcept[] = flags.map((f) => ({ coding: [{ system: INTERPRETATION, code: f }] }));
      if (interpretation.length) obs.interpretation = interpretation;
      const range = noRange ? undefined : parseReferenceRange(at('7'));
      if (range) {
        const q = (v: number): { value: number; unit: string; system: string; code: string } => ({ value: v, unit: unitText || ucum || '', system: UCUM, code: ucum ?? '' });
        obs.referenceRange = [{ ...(range.low !== undefined && ucum ? { low: q(range.low) } : {}), ...(range.high !== undefined && ucum ? { high: q(range.high) } : {}), text: range.text }];
      }
      if (notes.length) obs.note = notes.map((text) => ({ text }));
      out.observations.push(obs);
    }
  }
  return out;
}
