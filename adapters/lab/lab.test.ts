import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../../test/fixtures/canary';
import { testStoreKeys } from '../../test/support/store-keys';
import type { FhirIdentifier, FhirResource } from '../emr';
import { parse } from '../hl7';
import { FhirHttpError } from '../emr/errors';
import { createMessageStore } from '../store';
import type { EncryptedMessageStore } from '../store';
import { EPISODE_OF_CARE_EXTENSION, hl7ToIso, LabMappingError, oruToObservations, ordersFromHl7, PatientMatcher, PendingOrderStore, resultsBySpecimen } from '.';
import type { MatchableObservation } from '.';

const MSH = (type: string, id: string): string => `MSH|^~\\&|IVFLIS|REPROLAB|IVFHUB|REPROCLINIC|20261204101500+0100||${type}|${id}|P|2.5.1`;
const PID = `PID|1||OTHER-1^^^STATE^SS~${CANARY_MRN}^^^REPROCLINIC^MR||${CANARY_NAME}||${CANARY_DOB}|F`;

/** A cycle-monitoring ORU: E2 (stimulation value, range must not apply), censored P4, SN LH, a local code, and a QC specimen. */
function oru(id = 'LIS0001', p4 = '<0.5', status = 'F'): string {
  return [
    MSH('ORU^R01^ORU_R01', id),
    PID,
    'OBR|1|ORD-77|ACC-0042^REPROLAB|24357-6^Cycle monitoring panel^LN|||20261204080500+0100',
    `OBX|1|NM|2243-4^Estradiol^LN||1843|pg/mL|30-400|H|||${status}|||20261204093000+0100`,
    'NTE|1||drawn on stimulation day 8',
    `OBX|2|NM|2839-9^Progesterone^LN||${p4}|ng/mL|0.2-1.5||||${status}|||20261204093000+0100`,
    `OBX|3|SN|LH^Lutropin^L||<^0.1|mIU/mL|1.7-8.6|L|||${status}|||20261204093000+0100`,
    'SPM|1|ACC-0042&REPROLAB||SER^Serum^HL70487|||||||P',
    'OBR|2|ORD-78|QCL-7^REPROLAB|2243-4^Estradiol^LN|||20261204070000+0100',
    'OBX|1|NM|2243-4^Estradiol^LN||181.2|pg/mL||N|||F|||20261204070500+0100',
    'SPM|1|QCL-7&REPROLAB||SER^Serum^HL70487|||||||Q',
  ].join('\r') + '\r';
}

const TESTS = { LH: { loinc: '10501-5', display: 'Lutropin', unit: 'm[IU]/mL' } };

describe('oruToObservations', () => {
  test('patient results become Observations with LOINC, UCUM, censoring, and no reference range on a stimulation E2', () => {
    const out = oruToObservations(parse(oru()), { tests: TESTS });
    expect(out.errors).toEqual([]);
    expect(out.observations).toHaveLength(3);
    const [e2, p4, lh] = out.observations;
    expect(e2!.code.coding![0]).toEqual({ system: 'http://loinc.org', code: '2243-4', display: 'Estradiol' });
    expect(e2!.valueQuantity).toEqual({ value: 1843, unit: 'pg/mL', system: 'http://unitsofmeasure.org', code: 'pg/mL' });
    // Stimulation E2 is in the thousands: a normal range and its H flag would mislead the physician.
    expect(e2!.referenceRange).toBeUndefined();
    expect(e2!.interpretation).toBeUndefined();
    expect(e2!.note).toEqual([{ text: 'drawn on stimulation day 8' }]);
    expect(e2!.subject).toEqual({ identifier: { system: 'urn:ivf-hub:patient-id', value: CANARY_MRN } });
    expect(e2!.specimen).toEqual({ identifier: { system: 'urn:ivf-hub:specimen-id', value: 'ACC-0042' } });
    expect(e2!.effectiveDateTime).toBe('2026-12-04T09:30:00+01:00');
    expect(p4!.valueQuantity).toMatchObject({ value: 0.5, comparator: '<', code: 'ng/mL' });
    expect(p4!.referenceRange).toEqual([{ low: expect.objectContaining({ value: 0.2 }), high: expect.objectContaining({ value: 1.5 }), text: '0.2-1.5' }]);
    // A local code through the mapping; SN "<^0.1"; mIU/mL as UCUM m[IU]/mL.
    expect(lh!.code.coding![0]!.code).toBe('10501-5');
    expect(lh!.code.coding![1]).toMatchObject({ code: 'LH' });
    expect(lh!.valueQuantity).toEqual({ value: 0.1, comparator: '<', unit: 'mIU/mL', system: 'http://unitsofmeasure.org', code: 'm[IU]/mL' });
    expect(lh!.interpretation!.map((i) => i.coding![0]!.code)).toEqual(['L', '<']);
  });

  test('QC specimens (SPM-11 Q, or a QC prefix) are kept apart, with no patient data', () => {
    const out = oruToObservations(parse(oru()), { tests: TESTS });
    expect(out.qc).toEqual([expect.objectContaining({ kind: 'qc', reason: 'specimen-role', specimenId: 'QCL-7', test: { code: '2243-4', loinc: '2243-4' }, value: '181.2' })]);
    expect(JSON.stringify(out.qc)).not.toContain(CANARY_MRN);
    expect(out.observations.map((o) => o.specimen.identifier!.value)).not.toContain('QCL-7');
    const byPrefix = oruToObservations(parse(oru().replace('|||||||Q\r', '|||||||P\r')), { tests: TESTS, qcSpecimenPrefixes: ['qcl'] });
    expect(byPrefix.qc.map((q) => q.reason)).toEqual(['specimen-prefix']);
  });

  test('identifiers: a re-sent result keeps its identifier, a corrected one gets a new one', () => {
    const ids = (text: string): string[] => oruToObservations(parse(text), { tests: TESTS }).observations.map((o) => o.identifier[0]!.value);
    const first = ids(oru('LIS0001'));
    expect(new Set(first).size).toBe(3);
    expect(ids(oru('LIS0002'))).toEqual(first);
    const corrected = ids(oru('LIS0003', '<0.5', 'C'));
    expect(corrected.filter((id) => first.includes(id))).toEqual([]);
  });

  test('an unmapped code or unit is an error naming the code; the other results still go through', () => {
    const out = oruToObservations(parse(oru().replace('LH^Lutropin^L', 'XYZ^Unknown^L').replace('ng/mL|0.2-1.5', 'furlongs|0.2-1.5')));
    expect(out.observations).toHaveLength(1);
    expect(out.errors.map((e) => [e instanceof LabMappingError && e.reason, e instanceof LabMappingError && e.testCode, e.retryable])).toEqual([
      ['unmapped-unit', '2839-9', false],
      ['unmapped-test', 'XYZ', false],
    ]);
    expect(out.errors.map((e) => e.message).join(' ')).not.toContain(CANARY_MRN);
  });

  test('hl7ToIso keeps precision and needs a zone for a time', () => {
    expect(hl7ToIso('20261204093000+0100')).toBe('2026-12-04T09:30:00+01:00');
    expect(hl7ToIso('202612040930', '-05:00')).toBe('2026-12-04T09:30:00-05:00');
    expect(hl7ToIso('202612040930')).toBe('2026-12-04');
    expect(hl7ToIso('20261204')).toBe('2026-12-04');
    expect(hl7ToIso('not a date')).toBeUndefined();
  });
});

/** A FHIR client double: Patients by identifier, EpisodeOfCare by patient and status. */
function fakeEmr(resources: FhirResource[]): { calls: string[]; searchByIdentifier(type: string, id: FhirIdentifier): Promise<FhirResource[]>; search(type: string, params: Record<string, string>): Promise<FhirResource[]> } {
  const calls: string[] = [];
  return {
    calls,
    async searchByIdentifier(type, id) {
      calls.push(`${type}?identifier`);
      return resources.filter((r) => r.resourceType === type && (r.identifier ?? []).some((i) => i.system === id.system && i.value === id.value));
    },
    async search(type, params) {
      calls.push(`${type}?patient`);
      return resources.filter((r) => r.resourceType === type && (r.patient as { reference: string }).reference === params.patient && r.status === params.status);
    },
  };
}

const obs = (mrn: string | undefined, n: number): MatchableObservation => ({
  resourceType: 'Observation',
  identifier: [{ system: 'urn:ivf-hub:hl7-result', value: `r${n}` }],
  subject: mrn ? { identifier: { system: 'urn:ivf-hub:patient-id', value: mrn } } : { display: 'unidentified patient' },
});

describe('PatientMatcher', () => {
  const patient = (id: string, mrn: string): FhirResource => ({ resourceType: 'Patient', id, identifier: [{ system: 'urn:ivf-hub:patient-id', value: mrn }] });

  test('binds results to the one Patient with the MRN and to the active cycle, asking once per MRN', async () => {
    const emr = fakeEmr([patient('p1', CANARY_MRN), { resourceType: 'EpisodeOfCare', id: 'c9', status: 'active', patient: { reference: 'Patient/p1' } }, { resourceType: 'EpisodeOfCare', id: 'c1', status: 'finished', patient: { reference: 'Patient/p1' } }]);
    const result = await new PatientMatcher(emr, { cycle: true }).match([obs(CANARY_MRN, 1), obs(CANARY_MRN, 2)]);
    expect(result.unmatched).toEqual([]);
    expect(result.matched.map((o) => o.subject)).toEqual([{ reference: 'Patient/p1' }, { reference: 'Patient/p1' }]);
    expect(result.matched[0]!.extension).toEqual([{ url: EPISODE_OF_CARE_EXTENSION, valueReference: { reference: 'EpisodeOfCare/c9' } }]);
    expect(emr.calls).toEqual(['Patient?identifier', 'EpisodeOfCare?patient']);
  });

  test('unknown, ambiguous and missing MRNs are unmatched, never guessed; without a cycle the result still matches', async () => {
    const emr = fakeEmr([patient('p1', 'MRN-1'), patient('p2', 'MRN-TWICE'), patient('p3', 'MRN-TWICE')]);
    const result = await new PatientMatcher(emr, { cycle: true }).match([obs('MRN-1', 1), obs('MRN-404', 2), obs('MRN-TWICE', 3), obs(undefined, 4)]);
    expect(result.matched.map((o) => [o.identifier, o.subject, o.extension])).toEqual([[[{ system: 'urn:ivf-hub:hl7-result', value: 'r1' }], { reference: 'Patient/p1' }, undefined]]);
    expect(result.unmatched.map((o) => (o.identifier as { value: string }[])[0]!.value)).toEqual(['r2', 'r3', 'r4']);
  });

  test('the MRN system can be the EMR own; EMR failures propagate with their retryability', async () => {
    const emr = fakeEmr([{ resourceType: 'Patient', id: 'p7', identifier: [{ system: 'urn:oid:1.2.3', value: 'MRN-1' }] }]);
    expect((await new PatientMatcher(emr, { mrnSystem: 'urn:oid:1.2.3' }).match([obs('MRN-1', 1)])).matched).toHaveLength(1);
    const down = { searchByIdentifier: async () => Promise.reject(new FhirHttpError('EMR answered 503', 503, [])), search: async () => [] };
    await expect(new PatientMatcher(down).match([obs('MRN-1', 1)])).rejects.toMatchObject({ retryable: true });
  });
});

describe('pending orders', () => {
  const orm = [
    MSH('ORM^O01', 'EMR0001'),
    PID,
    'ORC|NW|PL-1|ACC-0042',
    'OBR|1|PL-1|ACC-0042|2243-4^Estradiol^LN|S||20261204080500',
    'ORC|NW|PL-1|ACC-0042',
    'OBR|2|PL-1|ACC-0042|10501-5^LH^LN|S||20261204080500',
    'ORC|NW|PL-2|ACC-0043',
    'OBR|1|PL-2|ACC-0043|LOCAL9^Something^L',
  ].join('\r') + '\r';

  test('ORM^O01: one order per specimen, codes mapped to the instrument, patient for the P record', () => {
    const { orders, cancelled } = ordersFromHl7(parse(orm), { tests: { '2243-4': 'E2', '10501-5': 'LH' } });
    expect(cancelled).toEqual([]);
    expect(orders).toEqual([
      expect.objectContaining({ specimenId: 'ACC-0042', tests: ['E2', 'LH'], orderedCodes: ['2243-4', '10501-5'], priority: 'S', placerOrder: 'PL-1', patient: { id: CANARY_MRN, name: { family: 'CANARYSURNAME', given: 'CANARYGIVEN' }, birthDate: CANARY_DOB, sex: 'F' } }),
      expect.objectContaining({ specimenId: 'ACC-0043', tests: ['LOCAL9'], priority: 'R' }),
    ]);
  });

  test('OML^O21 takes the specimen id from SPM-2; ORC-1 CA cancels', () => {
    const oml = [MSH('OML^O21^OML_O21', 'EMR0002'), PID, 'ORC|NW|PL-3', 'OBR|1|PL-3||21198-7^hCG^LN', 'SPM|1|SPC-9&EMR||SER', 'ORC|CA|PL-1|ACC-0042', 'OBR|1|PL-1|ACC-0042|2243-4^E2^LN'].join('\r') + '\r';
    const { orders, cancelled } = ordersFromHl7(parse(oml), { tests: { '21198-7': 'HCG' } });
    expect(orders.map((o) => [o.specimenId, o.tests])).toEqual([['SPC-9', ['HCG']]]);
    expect(cancelled).toEqual(['ACC-0042']);
  });

  describe('PendingOrderStore', () => {
    let dir: string;
    let store: EncryptedMessageStore;
    beforeEach(async () => {
      dir = mkdtempSync(join(tmpdir(), 'hub-pending-'));
      store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    });
    afterEach(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('kept durably by specimen id, encrypted; answers queries; a cancellation or a newer order supersedes', async () => {
      const pending = new PendingOrderStore(store);
      await pending.save(ordersFromHl7(parse(orm), { tests: { '2243-4': 'E2', '10501-5': 'LH' } }), { hubMessageId: 'source-1' });
      // A fresh instance over the same store: nothing lives in memory.
      const later = new PendingOrderStore(store);
      expect((await later.lookup(['ACC-0042', 'NOPE'])).map((o) => [o.specimenId, o.tests])).toEqual([['ACC-0042', ['E2', 'LH']]]);
      expect((await later.answer({ specimenIds: ['ACC-0042'], testIds: ['LH'], allTests: false })).map((o) => o.tests)).toEqual([['LH']]);
      expect(await later.answer({ specimenIds: ['ACC-0042'], testIds: ['HCG'], allTests: false })).toEqual([]);
      const records = await store.search({ endpoint: 'pending-orders', controlId: 'ACC-0042' });
      expect(records.items).toEqual([expect.objectContaining({ messageType: 'ORDER', status: 'queued', parentId: 'source-1', patientKey: store.patientKey(CANARY_MRN) })]);

      await later.save({ orders: [], cancelled: ['ACC-0042'] });
      expect(await later.lookup(['ACC-0042'])).toEqual([]);
      await later.save({ orders: [{ specimenId: 'ACC-0042', tests: ['HCG'], orderedCodes: ['21198-7'] }], cancelled: [] });
      expect((await later.lookup(['ACC-0042'])).map((o) => o.tests)).toEqual([['HCG']]);
    });

    test('results close their orders: all tests resulted → no longer pending; some → only the others stay; preliminary or unrelated results change nothing', async () => {
      const pending = new PendingOrderStore(store);
      // ACC-0042: E2 and LH, as ordered in the ORM; ACC-0043: a test the ORU below does not carry.
      await pending.save(ordersFromHl7(parse(orm), { tests: { '2243-4': 'E2', '10501-5': 'LH' } }));
      const results = resultsBySpecimen(oruToObservations(parse(oru()), { tests: TESTS }).observations);
      expect(results).toEqual([{ specimenId: 'ACC-0042', codes: expect.arrayContaining(['2243-4', '2839-9', '10501-5', 'LH']) }]);

      // Preliminary results do not close anything.
      const preliminary = resultsBySpecimen(oruToObservations(parse(oru('LIS0002', '<0.5', 'P')), { tests: TESTS }).observations);
      expect(preliminary).toEqual([]);

      expect(await pending.complete(results, { hubMessageId: 'results-1' })).toEqual({ completed: ['ACC-0042'], outstanding: [] });
      expect(await pending.lookup(['ACC-0042', 'ACC-0043'])).toEqual([expect.objectContaining({ specimenId: 'ACC-0043' })]);
      const records = (await store.search({ endpoint: 'pending-orders', controlId: 'ACC-0042' })).items;
      expect(records.map((r) => [r.messageType, r.status])).toEqual([['ORDER^CM', 'sent'], ['ORDER', 'sent']]);
      expect(records[0]!.parentId).toBe('results-1');
      // Sent again (a resend, a corrected result): the order is already closed.
      expect(await pending.complete(results)).toEqual({ completed: [], outstanding: [] });
      // Results for a specimen with no pending order, or for none of its tests.
      expect(await pending.complete([{ specimenId: 'NOPE', codes: ['2243-4'] }, { specimenId: 'ACC-0043', codes: ['2243-4'] }])).toEqual({ completed: [], outstanding: [] });

      // Three tests, one resulted (by its ordered LOINC code): the order keeps the other two.
      await pending.save({ orders: [{ specimenId: 'ACC-0050', tests: ['E2', 'LH', 'HCG'], orderedCodes: ['2243-4', '10501-5', '21198-7'] }], cancelled: [] });
      expect(await pending.complete([{ specimenId: 'ACC-0050', codes: ['2243-4'] }])).toEqual({ completed: [], outstanding: ['ACC-0050'] });
      expect((await pending.lookup(['ACC-0050'])).map((o) => [o.tests, o.orderedCodes])).toEqual([[['LH', 'HCG'], ['10501-5', '21198-7']]]);
      // The rest, by the instrument's codes.
      expect(await pending.complete([{ specimenId: 'ACC-0050', codes: ['LH', 'HCG'] }])).toEqual({ completed: ['ACC-0050'], outstanding: [] });
      expect(await pending.lookup(['ACC-0050'])).toEqual([]);
      expect(await store.count({ endpoint: 'pending-orders', status: 'queued' })).toBe(1);
    });
  });
});
