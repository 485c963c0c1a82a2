import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { get, getAll, parse, segmentGet, segmentGetRaw } from '../hl7';
import { CANARY_DOB, CANARY_MRN } from '../../test/fixtures/canary';
import { splitCapture } from './capture';
import { AstmConfigError, AstmQcRoutingError, AstmUnitMismatchError, AstmUnmappedTestError } from './errors';
import { toFhirBundle, toFhirObservation } from './fhir';
import type { FhirDiagnosticReport, FhirObservation } from './fhir';
import { validateProfile } from './instrument-profile';
import type { InstrumentProfile } from './instrument-profile';
import { parseRecordStream } from './message-parser';
import { normalizeMessage } from './normalize';
import { toOruR01 } from './oru';
import { parseDilution, parseReferenceRange, parseValue } from './result-value';
import architectProfile from './fixtures/architect-i1000.profile.json';
import cobasProfile from './fixtures/cobas-e411.profile.json';
import immuliteProfile from './fixtures/immulite-2000.profile.json';
import { COBAS_IVF_STREAM, COBAS_UNMAPPED_STREAM, IMMULITE_IVF_STREAM } from './fixtures/ivf-streams';

const immulite = validateProfile(immuliteProfile);
const cobas = validateProfile(cobasProfile);
const architect = validateProfile(architectProfile);
const CORPUS_DIR = process.env.ASTM_CORPUS_DIR ?? '/work/shared/corpus/astm';

function normalize(text: string, profile: InstrumentProfile) {
  const { messages } = parseRecordStream(text);
  expect(messages).toHaveLength(1);
  return normalizeMessage(messages[0]!, profile);
}

const IVF = { E2: '2243-4', LH: '10501-5', P4: '2839-9', HCG: '21198-7' };

describe('values', () => {
  test('censored, decimal comma, trailing point, text', () => {
    expect(parseValue('< 0.05')).toEqual({ type: 'quantity', value: 0.05, comparator: '<', text: '< 0.05' });
    expect(parseValue('> 15000')).toEqual({ type: 'quantity', value: 15000, comparator: '>', text: '> 15000' });
    expect(parseValue('>=8')).toMatchObject({ value: 8, comparator: '>=' });
    expect(parseValue('173.')).toMatchObject({ type: 'quantity', value: 173 });
    expect(parseValue('.5')).toMatchObject({ value: 0.5 });
    expect(parseValue('7,41', true)).toMatchObject({ value: 7.41 });
    expect(parseValue('7,41')).toEqual({ type: 'text', text: '7,41' });
    expect(parseValue('NEGATIVE')).toEqual({ type: 'text', text: 'NEGATIVE' });
    expect(parseValue('-----')).toEqual({ type: 'text', text: '-----' });
    expect(parseValue('  ')).toEqual({ type: 'absent', text: '' });
  });

  test('dilution and reference range texts', () => {
    expect(parseDilution('1:15')).toEqual({ text: '1:15', factor: 15 });
    expect(parseDilution('UNDILUTED')).toEqual({ text: 'UNDILUTED', factor: 1 });
    expect(parseDilution('')).toBeUndefined();
    expect(parseReferenceRange('0.35 TO 4.94')).toEqual({ text: '0.35 TO 4.94', low: 0.35, high: 4.94 });
    expect(parseReferenceRange('30-400')).toEqual({ text: '30-400', low: 30, high: 400 });
    expect(parseReferenceRange('<5')).toEqual({ text: '<5', high: 5 });
    expect(parseReferenceRange('12\\12^2000\\2000')).toEqual({ text: '12\\12^2000\\2000' });
  });
});

describe('profiles', () => {
  test('a profile without utcOffset or with a bad LOINC is rejected, naming the key', () => {
    expect(() => validateProfile({ instrumentId: 'x', tests: {} })).toThrow(expect.objectContaining({ key: 'utcOffset' }));
    expect(() => validateProfile({ instrumentId: 'x', utcOffset: 'Z', tests: { E2: { loinc: 'E2', display: 'x', unit: 'pg/mL' } } })).toThrow(AstmConfigError);
    expect(() => validateProfile({ instrumentId: 'x', utcOffset: 'Z', tests: { E2: { loinc: 'E2', display: 'x', unit: 'pg/mL' } } })).toThrow(
      expect.objectContaining({ key: 'tests.E2.loinc', code: 'CONFIG' }),
    );
  });
});

describe.each([
  ['IMMULITE-style', IMMULITE_IVF_STREAM, immulite],
  ['cobas-style', COBAS_IVF_STREAM, cobas],
])('%s stream: E2, LH, progesterone and beta-hCG', (_name, stream, profile) => {
  test('become FHIR Observations with the IVF LOINC codes and UCUM units', () => {
    const { results, errors } = normalize(stream, profile);
    expect(errors).toEqual([]);
    const obs = results.map((r) => toFhirObservation(r));
    const byLoinc = new Map(obs.map((o) => [o.code.coding![0]!.code, o]));
    expect([...byLoinc.keys()].sort()).toEqual([IVF.E2, IVF.LH, IVF.P4, IVF.HCG].sort());
    for (const o of obs) {
      expect(o.resourceType).toBe('Observation');
      expect(o.code.coding![0]!.system).toBe('http://loinc.org');
      expect(o.valueQuantity?.system).toBe('http://unitsofmeasure.org');
      expect(o.subject.identifier).toEqual({ system: 'urn:ivf-hub:patient-id', value: CANARY_MRN });
      expect(o.specimen.identifier?.value).toMatch(/^S26-00441[12]$/);
    }
    expect(byLoinc.get(IVF.E2)!.valueQuantity).toMatchObject({ value: 1843, code: 'pg/mL' });
    expect(byLoinc.get(IVF.LH)!.valueQuantity).toMatchObject({ value: 4.21, code: 'm[IU]/mL', unit: 'mIU/mL' });
    expect(byLoinc.get(IVF.P4)!.valueQuantity).toMatchObject({ comparator: '<', code: 'ng/mL' });
    expect(byLoinc.get(IVF.HCG)!.valueQuantity).toMatchObject({ code: 'm[IU]/mL' });
    // No normal range and no range-based flag on a stimulation E2.
    expect(byLoinc.get(IVF.E2)!.referenceRange).toBeUndefined();
    expect(byLoinc.get(IVF.E2)!.interpretation).toBeUndefined();
    expect(byLoinc.get(IVF.E2)!.effectiveDateTime).toBe('2026-12-03T08:05:00+01:00');
    expect(byLoinc.get(IVF.E2)!.issued).toBe('2026-12-03T09:30:00+01:00');
  });

  test('the QC result goes to its own output, never to a patient record', () => {
    const { results, qc } = normalize(stream, profile);
    expect(qc).toHaveLength(1);
    expect(qc[0]!.kind).toBe('qc');
    expect(qc[0]!.patient).toBeUndefined();
    expect(results.every((r) => r.kind === 'patient')).toBe(true);
    expect(results.some((r) => r.specimenId === qc[0]!.specimenId)).toBe(false);
    expect(() => toFhirObservation(qc[0]!)).toThrow(AstmQcRoutingError);
    expect(() => toFhirBundle([...results, ...qc])).toThrow(AstmQcRoutingError);
    expect(() => toOruR01(qc, { sendingApplication: 'HUB', controlId: '1' })).toThrow(AstmQcRoutingError);
  });

  test('a transaction bundle: Observations plus one DiagnosticReport per specimen, idempotent identifiers', () => {
    const { results } = normalize(stream, profile);
    const bundle = toFhirBundle(results);
    const reports = bundle.entry.filter((e) => e.resource.resourceType === 'DiagnosticReport');
    expect(reports).toHaveLength(1);
    const report = reports[0]!.resource as FhirDiagnosticReport;
    expect(report.result).toHaveLength(4);
    expect(report.code.coding![0]).toMatchObject({ system: 'http://loinc.org', code: '11502-2' });
    const observationUrls = bundle.entry.filter((e) => e.resource.resourceType === 'Observation').map((e) => e.fullUrl);
    expect(report.result.map((r) => r.reference)).toEqual(observationUrls);
    for (const e of bundle.entry) expect(e.request.ifNoneExist).toMatch(/^identifier=urn:ivf-hub:astm-(result|report)\|[0-9a-f]{64}$/);
    // Same input, same bundle: a re-sent message creates nothing new downstream.
    expect(toFhirBundle(normalize(stream, profile).results)).toEqual(bundle);
  });

  test('an HL7 ORU^R01 built with adapters/hl7 carries the same results', () => {
    const { results } = normalize(stream, profile);
    const oru = toOruR01(results, { sendingApplication: 'IVF-HUB', sendingFacility: 'REPROLAB', receivingApplication: 'EMR', controlId: 'CTRL-1', at: new Date('2026-12-03T10:00:00Z') });
    const msg = parse(oru);
    expect(get(msg, 'MSH-9.1')).toBe('ORU');
    expect(get(msg, 'MSH-9.2')).toBe('R01');
    expect(get(msg, 'MSH-10')).toBe('CTRL-1');
    expect(get(msg, 'PID-3.1')).toBe(CANARY_MRN);
    expect(get(msg, 'PID-5.1')).toBe('CANARYSURNAME');
    const obx = getAll(msg, 'OBX');
    expect(obx.map((s) => segmentGet(msg, s, '3.1'))).toEqual([IVF.E2, IVF.LH, IVF.P4, IVF.HCG]);
    expect(obx.map((s) => segmentGet(msg, s, '3.3'))).toEqual(['LN', 'LN', 'LN', 'LN']);
    expect(obx.map((s) => segmentGet(msg, s, '6.1'))).toEqual(['pg/mL', 'm[IU]/mL', 'ng/mL', 'm[IU]/mL']);
    const p4 = obx[2]!;
    expect(segmentGet(msg, p4, '2')).toBe('SN');
    expect(segmentGetRaw(msg, p4, '5')).toMatch(/^<\^0\.(05|2)$/);
    expect(segmentGet(msg, obx[0]!, '7')).toBeFalsy(); // no normal range on stimulation E2
  });
});

describe('cobas-style specifics', () => {
  test('dilution, corrected status and escaped comment text', () => {
    const { results } = normalize(COBAS_IVF_STREAM, cobas);
    const hcg = results.find((r) => r.test.loinc === IVF.HCG)!;
    expect(hcg.dilution).toEqual({ text: '1:10', factor: 10 });
    expect(hcg.status).toBe('corrected');
    expect(hcg.comments).toEqual(['Auto-diluted 1^10 by the analyzer']);
    expect(hcg.patient).toMatchObject({ id: CANARY_MRN, idField: 'P.4', birthDate: '1901-01-01', sex: 'F' });
    const obs = toFhirObservation(hcg);
    expect(obs.status).toBe('corrected');
    expect(obs.extension).toEqual([
      { url: 'urn:ivf-hub:fhir:astm-dilution', valueString: '1:10' },
      { url: 'urn:ivf-hub:fhir:astm-dilution-factor', valueDecimal: 10 },
    ]);
    const oru = parse(toOruR01(results, { sendingApplication: 'HUB', controlId: 'X' }));
    // `^` inside the comment is escaped for HL7, not taken as a component break.
    expect(getAll(oru, 'NTE').map((s) => segmentGetRaw(oru, s, '3'))).toContain('Auto-diluted 1\\S\\10 by the analyzer');
    expect(get(oru, 'PID-7')).toBe(CANARY_DOB);
  });

  test('QC is recognised by O.12 = Q', () => {
    const { qc } = normalize(COBAS_IVF_STREAM, cobas);
    expect(qc.map((r) => r.qcReason)).toEqual(['action-code']);
  });

  test('an unmapped test code is a typed error naming the code; the other results still come out', () => {
    const { results, errors } = normalize(COBAS_UNMAPPED_STREAM, cobas);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AstmUnmappedTestError);
    expect(errors[0]).toMatchObject({ code: 'CONFIG', retryable: false, testCode: '999', instrumentId: 'cobas-e411-lab1' });
    expect(errors[0]!.message).toContain('"999"');
    expect(results.map((r) => r.test.loinc).sort()).toEqual([IVF.E2, IVF.P4, IVF.HCG].sort());
    for (const e of errors) expect(JSON.stringify({ m: e.message, ...e })).not.toMatch(/CANARY/);
  });

  test('a unit the mapping does not list is an error, not a relabel', () => {
    const { errors } = normalize(COBAS_IVF_STREAM.replace('1843.0|pg/mL', '6766|pmol/L'), cobas);
    expect(errors[0]).toBeInstanceOf(AstmUnitMismatchError);
    expect(errors[0]).toMatchObject({ testCode: '750', unit: 'pmol/L' });
  });
});

describe('IMMULITE-style specifics', () => {
  test('QC by specimen ID prefix; range flags kept where the range applies', () => {
    const { results, qc } = normalize(IMMULITE_IVF_STREAM, immulite);
    expect(qc.map((r) => [r.specimenId, r.qcReason])).toEqual([['QC-LOT42-L2', 'specimen-prefix']]);
    const hcg = results.find((r) => r.test.loinc === IVF.HCG)!;
    expect(hcg.value).toMatchObject({ comparator: '>', value: 5000 });
    expect(hcg.interpretation).toEqual(['>']);
    expect(hcg.referenceRange).toEqual({ text: '.4\\.4^5000\\5000' });
    expect(hcg.comments).toEqual(['Result above measuring range; dilution recommended']);
  });

  test('the corpus IMMULITE sample: E2, FSH and LH of patient 4 map; TT4, FER, IGE are unmapped errors', () => {
    const file = join(CORPUS_DIR, 'siemens_immulite_dpc_results_e2_fsh_lh.astm');
    if (!existsSync(file)) {
      console.warn(`skipped: ${file} missing`);
      return;
    }
    const { results, errors } = normalize(readFileSync(file, 'utf8'), { ...immulite, utcOffset: 'Z' });
    expect(results.map((r) => [r.test.loinc, r.value.type === 'quantity' ? r.value.value : null, r.unit.ucum])).toEqual([
      ['2243-4', 25.3, 'pg/mL'],
      ['15067-2', 60.6, 'm[IU]/mL'],
      ['10501-5', 24.4, 'm[IU]/mL'],
    ]);
    expect(errors.map((e) => (e as AstmUnmappedTestError).testCode)).toEqual(['TT4', 'TU', 'FER', 'FER', 'FER', 'IGE']);
  });
});

describe('ARCHITECT beta-hCG (corpus capture)', () => {
  test('F value with I interpretation, censored, undiluted; the RLU (P) record is not a result', () => {
    const file = join(CORPUS_DIR, 'abbott_architect_bhcg_lis_manual_example.e1381');
    if (!existsSync(file)) {
      console.warn(`skipped: ${file} missing`);
      return;
    }
    const text = Buffer.concat(splitCapture(readFileSync(file)).map((f) => f.text)).toString('latin1');
    const { results, errors, qc } = normalize(text, architect);
    expect([errors, qc]).toEqual([[], []]);
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r).toMatchObject({
      specimenId: 'SID13',
      value: { type: 'quantity', comparator: '<', value: 1.2 },
      interpretationText: 'NEGATIVE',
      dilution: { text: 'UNDILUTED', factor: 1 },
      abnormalFlags: ['EXP', '<'],
      interpretation: ['<'],
      referenceRange: { low: 0.35, high: 4.94 },
      completedAt: '1999-07-15T08:10:30-05:00',
      performedBy: 'I20100',
    });
    expect(r.patient).toMatchObject({ id: 'PIDSID13', idField: 'P.5' });
    const obs: FhirObservation = toFhirObservation(r);
    expect(obs.code.coding![0]!.code).toBe('21198-7');
    expect(obs.interpretation).toEqual([{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: '<' }] }, { text: 'NEGATIVE' }]);
  });
});
