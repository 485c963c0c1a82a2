import { createHash } from 'node:crypto';
import { AstmQcRoutingError } from './errors';
import type { LabResult, LabResultStatus } from './lab-result';

/** The subset of FHIR R4 this module writes. */
export interface FhirCoding {
  system?: string;
  code?: string;
  display?: string;
}
export interface FhirCodeableConcept {
  coding?: FhirCoding[];
  text?: string;
}
export interface FhirIdentifier {
  system?: string;
  value: string;
}
export interface FhirReference {
  reference?: string;
  identifier?: FhirIdentifier;
  display?: string;
}
export interface FhirQuantity {
  value: number;
  comparator?: '<' | '<=' | '>' | '>=';
  unit?: string;
  system?: string;
  code?: string;
}
export interface FhirExtension {
  url: string;
  valueString?: string;
  valueDecimal?: number;
}
export interface FhirObservation {
  resourceType: 'Observation';
  identifier: FhirIdentifier[];
  status: 'registered' | 'preliminary' | 'final' | 'amended' | 'corrected' | 'cancelled' | 'entered-in-error' | 'unknown';
  category: FhirCodeableConcept[];
  code: FhirCodeableConcept;
  subject: FhirReference;
  effectiveDateTime?: string;
  issued?: string;
  valueQuantity?: FhirQuantity;
  valueString?: string;
  dataAbsentReason?: FhirCodeableConcept;
  interpretation?: FhirCodeableConcept[];
  note?: { text: string }[];
  specimen: FhirReference;
  device: FhirReference;
  referenceRange?: { low?: FhirQuantity; high?: FhirQuantity; text?: string }[];
  extension?: FhirExtension[];
}
export interface FhirDiagnosticReport {
  resourceType: 'DiagnosticReport';
  identifier: FhirIdentifier[];
  status: 'registered' | 'partial' | 'preliminary' | 'final' | 'corrected' | 'cancelled' | 'unknown';
  category: FhirCodeableConcept[];
  code: FhirCodeableConcept;
  subject: FhirReference;
  effectiveDateTime?: string;
  issued?: string;
  specimen: FhirReference[];
  result: FhirReference[];
}
export interface FhirBundleEntry {
  fullUrl: string;
  resource: FhirObservation | FhirDiagnosticReport;
  request: { method: 'POST'; url: string; ifNoneExist: string };
}
export interface FhirBundle {
  resourceType: 'Bundle';
  type: 'transaction';
  entry: FhirBundleEntry[];
}

export interface FhirOptions {
  /**
   * Prefix for the hub's own identifier systems and extension URLs; default
   * `urn:ivf-hub`. Results are identified by `<base>:astm-result|<resultKey>`.
   */
  systemBase?: string;
  /** System of the patient identifier (the MRN assigner); default `<base>:patient-id`. */
  patientIdSystem?: string;
  /** System of the specimen (accession) identifier; default `<base>:specimen-id`. */
  specimenIdSystem?: string;
}

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const DIAGNOSTIC_SERVICE = 'http://terminology.hl7.org/CodeSystem/v2-0074';
const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';
const DATA_ABSENT = 'http://terminology.hl7.org/CodeSystem/data-absent-reason';
/** LOINC 11502-2 "Laboratory report" as the DiagnosticReport code. */
const LAB_REPORT = { system: LOINC, code: '11502-2', display: 'Laboratory report' };

const OBSERVATION_STATUS: Record<LabResultStatus, FhirObservation['status']> = {
  final: 'final',
  corrected: 'corrected',
  preliminary: 'preliminary',
  pending: 'registered',
  cancelled: 'cancelled',
  unknown: 'unknown',
};

function systems(o: FhirOptions): Required<FhirOptions> {
  const base = o.systemBase ?? 'urn:ivf-hub';
  return { systemBase: base, patientIdSystem: o.patientIdSystem ?? `${base}:patient-id`, specimenIdSystem: o.specimenIdSystem ?? `${base}:specimen-id` };
}

/** A FHIR `instant` needs seconds and a zone; date-only times are left out of `issued`. */
function instant(iso: string | undefined): string | undefined {
  return iso && iso.length > 10 ? iso : undefined;
}

function assertPatientBound(result: LabResult): void {
  if (result.kind !== 'patient') throw new AstmQcRoutingError(result.test.code);
}

/**
 * One result as a FHIR R4 Observation. The subject and specimen are
 * identifier references (the EMR resolves them); the value keeps its
 * censoring comparator; the dilution travels in an extension.
 *
 * @param result - a patient result (QC results are refused)
 * @param options - identifier systems
 * @throws AstmQcRoutingError for a QC result
 */
export function toFhirObservation(result: LabResult, options: FhirOptions = {}): FhirObservation {
  assertPatientBound(result);
  const s = systems(options);
  const obs: FhirObservation = {
    resourceType: 'Observation',
    identifier: [{ system: `${s.systemBase}:astm-result`, value: result.resultKey }],
    status: OBSERVATION_STATUS[result.status],
    category: [{ coding: [{ system: CATEGORY, code: 'laboratory', display: 'Laboratory' }] }],
    code: {
      coding: [
        { system: LOINC, code: result.test.loinc, display: result.test.display },
        { system: `${s.systemBase}:instrument:${result.instrumentId}:test`, code: result.test.code, ...(result.test.name ? { display: result.test.name } : {}) },
      ],
      text: result.test.display,
    },
    subject: result.patient?.id ? { identifier: { system: s.patientIdSystem, value: result.patient.id } } : { display: 'unidentified patient' },
    specimen: { identifier: { system: s.specimenIdSystem, value: result.specimenId } },
    device: { identifier: { system: `${s.systemBase}:instrument`, value: result.instrumentId }, ...(result.performedBy ? { display: result.performedBy } : {}) },
  };
  const effective = result.collectedAt ?? result.startedAt ?? result.completedAt;
  if (effective) obs.effectiveDateTime = effective;
  const issued = instant(result.completedAt);
  if (issued) obs.issued = issued;
  const v = result.value;
  if (v.type === 'quantity') {
    obs.valueQuantity = { value: v.value, ...(v.comparator ? { comparator: v.comparator } : {}), unit: result.unit.reported || result.unit.ucum, system: UCUM, code: result.unit.ucum };
  } else if (v.type === 'text') {
    obs.valueString = v.text;
  } else {
    obs.dataAbsentReason = { coding: [{ system: DATA_ABSENT, code: result.status === 'cancelled' ? 'not-performed' : 'unknown' }] };
  }
  const interpretation: FhirCodeableConcept[] = result.interpretation.map((code) => ({ coding: [{ system: INTERPRETATION, code }] }));
  if (result.interpretationText) interpretation.push({ text: result.interpretationText });
  if (interpretation.length) obs.interpretation = interpretation;
  if (result.referenceRange) {
    const r = result.referenceRange;
    const q = (value: number): FhirQuantity => ({ value, unit: result.unit.reported || result.unit.ucum, system: UCUM, code: result.unit.ucum });
    obs.referenceRange = [{ ...(r.low !== undefined ? { low: q(r.low) } : {}), ...(r.high !== undefined ? { high: q(r.high) } : {}), text: r.text }];
  }
  if (result.comments.length) obs.note = result.comments.map((text) => ({ text }));
  if (result.dilution) {
    obs.extension = [
      { url: `${s.systemBase}:fhir:astm-dilution`, valueString: result.dilution.text },
      ...(result.dilution.factor !== undefined ? [{ url: `${s.systemBase}:fhir:astm-dilution-factor`, valueDecimal: result.dilution.factor }] : []),
    ];
  }
  return obs;
}

/** Deterministic UUID (version 5 layout) from a key, so a re-sent result maps to the same fullUrl. */
function uuidFor(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Group results into reports: one per patient and specimen. IMMULITE sends
 * one O record per test of a specimen; those still make one report.
 *
 * @param results - patient results of one or more messages
 */
export function groupBySpecimen(results: readonly LabResult[]): LabResult[][] {
  const groups = new Map<string, LabResult[]>();
  for (const r of results) {
    const key = [r.instrumentId, r.patient?.id ?? '', r.position.patient, r.specimenId].join('\u001f');
    const list = groups.get(key);
    if (list) list.push(r);
    else groups.set(key, [r]);
  }
  return [...groups.values()];
}

/**
 * Patient results as a FHIR R4 transaction Bundle: every Observation, and
 * one DiagnosticReport per specimen referencing them. Entries are conditional
 * creates on the hub's identifiers, so posting the same bundle twice (a
 * re-sent message) creates nothing new.
 *
 * @param results - patient results (QC results are refused)
 * @param options - identifier systems
 * @throws AstmQcRoutingError when a QC result is among them
 */
export function toFhirBundle(results: readonly LabResult[], options: FhirOptions = {}): FhirBundle {
  results.forEach(assertPatientBound);
  const s = systems(options);
  const resultSystem = `${s.systemBase}:astm-result`;
  const reportSystem = `${s.systemBase}:astm-report`;
  const entry: FhirBundleEntry[] = [];
  for (const group of groupBySpecimen(results)) {
    const refs: FhirReference[] = [];
    for (const r of group) {
      const fullUrl = `urn:uuid:${uuidFor(`${resultSystem}|${r.resultKey}`)}`;
      entry.push({ fullUrl, resource: toFhirObservation(r, options), request: { method: 'POST', url: 'Observation', ifNoneExist: `identifier=${resultSystem}|${r.resultKey}` } });
      refs.push({ reference: fullUrl });
    }
    const first = group[0]!;
    const reportKey = createHash('sha256').update(group.map((r) => r.resultKey).join(',')).digest('hex');
    const statuses = new Set(group.map((r) => r.status));
    const status: FhirDiagnosticReport['status'] = statuses.size === 1 && statuses.has('final') ? 'final' : statuses.has('corrected') && [...statuses].every((x) => x === 'final' || x === 'corrected') ? 'corrected' : 'preliminary';
    const completed = group.map((r) => r.completedAt).filter((t): t is string => t !== undefined).sort();
    const report: FhirDiagnosticReport = {
      resourceType: 'DiagnosticReport',
      identifier: [{ system: reportSystem, value: reportKey }],
      status,
      category: [{ coding: [{ system: DIAGNOSTIC_SERVICE, code: 'LAB', display: 'Laboratory' }] }],
      code: { coding: [LAB_REPORT], text: LAB_REPORT.display },
      subject: first.patient?.id ? { identifier: { system: s.patientIdSystem, value: first.patient.id } } : { display: 'unidentified patient' },
      specimen: [{ identifier: { system: s.specimenIdSystem, value: first.specimenId } }],
      result: refs,
    };
    const effective = first.collectedAt ?? first.startedAt ?? first.completedAt;
    if (effective) report.effectiveDateTime = effective;
    const issued = instant(completed[completed.length - 1]);
    if (issued) report.issued = issued;
    entry.push({ fullUrl: `urn:uuid:${uuidFor(`${reportSystem}|${reportKey}`)}`, resource: report, request: { method: 'POST', url: 'DiagnosticReport', ifNoneExist: `identifier=${reportSystem}|${reportKey}` } });
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
