import type { FhirBundle, FhirDiagnosticReport, FhirObservation, LabResult } from '../../adapters/astm';
import { COBAS_IVF_STREAM, COBAS_UNMAPPED_STREAM, IMMULITE_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { get, parse } from '../../adapters/hl7';
import type { AstmInstrumentNode } from '../../nodes/astm-instrument/types';
import { CANARY_MRN } from '../fixtures/canary';
import { astmNodes, inbound, instrumentNode, listeningInstrument, play, startAnalyzer } from '../support/astm-harness';
import { eventually, startTestHub } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { canariesIn, helper, logEvents, MessageTap, StatusTap } from '../support/node-red-helper';
import type { FlowNode, TestMsg } from '../support/node-red-helper';
import type { AnalyzerSimulator } from '../sim/analyzer-simulator';

/**
 * Results intake over real loopback sockets: a simulated IMMULITE-style and
 * cobas-style analyzer send E2, LH, progesterone and beta-hCG; astm-in
 * emits FHIR R4 (LOINC, UCUM) and ORU^R01, QC only on its own output,
 * unmapped codes on the error output; the raw message is stored first.
 */

helper.init(require.resolve('node-red'));

const LOINC = { E2: '2243-4', LH: '10501-5', P4: '2839-9', HCG: '21198-7' };
const UCUM = { [LOINC.E2]: 'pg/mL', [LOINC.LH]: 'm[IU]/mL', [LOINC.P4]: 'ng/mL', [LOINC.HCG]: 'm[IU]/mL' };

function flow(instrument: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'astm intake' },
    instrumentNode('I1', instrument),
    { id: 'in1', z: 'f1', type: 'astm-in', name: '', instrument: 'I1', wires: [['results'], ['qc'], ['queries'], ['errors']] },
    { id: 'results', z: 'f1', type: 'helper' },
    { id: 'qc', z: 'f1', type: 'helper' },
    { id: 'queries', z: 'f1', type: 'helper' },
    { id: 'errors', z: 'f1', type: 'helper' },
  ];
}

function observations(bundle: FhirBundle): FhirObservation[] {
  return bundle.entry.map((e) => e.resource).filter((r): r is FhirObservation => r.resourceType === 'Observation');
}

function codeAndUnit(o: FhirObservation): [string, string | undefined] {
  return [o.code.coding![0]!.code!, o.valueQuantity?.code];
}

describe('ASTM results intake (simulated analyzers → astm-instrument/astm-in)', () => {
  let hub: TestHub;
  let sim: AnalyzerSimulator | undefined;
  let statuses: StatusTap;
  const emitted: TestMsg[] = [];

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    await sim?.close();
    sim = undefined;
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    // No canary PHI in hub logs, Node-RED logs, status texts or anything on the error output.
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
    expect(canariesIn(statuses.all)).toEqual([]);
    expect(canariesIn(emitted.splice(0))).toEqual([]);
  });

  async function start(instrument: Record<string, unknown>): Promise<{ taps: Record<'results' | 'qc' | 'queries' | 'errors', MessageTap>; node: AstmInstrumentNode }> {
    await helper.load(astmNodes(), flow(instrument), {});
    statuses = new StatusTap('in1');
    const taps = { results: new MessageTap('results'), qc: new MessageTap('qc'), queries: new MessageTap('queries'), errors: new MessageTap('errors') };
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    return { taps, node };
  }

  test('IMMULITE-style: FHIR Observations with LOINC and UCUM, ORU^R01, QC on its own output, raw message stored', async () => {
    const { taps } = await start({ instrumentId: 'immulite-lab1', profile: 'immulite-2000' });
    await play(sim!, 'immulite-ivf', IMMULITE_IVF_STREAM);

    const results = await taps.results.next();
    const bundle = results.payload as FhirBundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(observations(bundle).map(codeAndUnit)).toEqual([
      [LOINC.E2, UCUM[LOINC.E2]],
      [LOINC.LH, UCUM[LOINC.LH]],
      [LOINC.P4, UCUM[LOINC.P4]],
      [LOINC.HCG, UCUM[LOINC.HCG]],
    ]);
    expect(observations(bundle).every((o) => o.valueQuantity?.system === 'http://unitsofmeasure.org')).toBe(true);
    // Censored values keep their comparator; the specimen has one report.
    expect(observations(bundle)[2]!.valueQuantity).toMatchObject({ value: 0.2, comparator: '<' });
    expect(observations(bundle)[3]!.valueQuantity).toMatchObject({ value: 5000, comparator: '>' });
    const reports = bundle.entry.map((e) => e.resource).filter((r): r is FhirDiagnosticReport => r.resourceType === 'DiagnosticReport');
    expect(reports).toHaveLength(1);
    expect(reports[0]!.subject.identifier?.value).toBe(CANARY_MRN);
    expect(results.observations).toEqual(observations(bundle));
    expect(results).toMatchObject({ topic: 'immulite-lab1', instrumentId: 'immulite-lab1', patientId: CANARY_MRN });

    // The same results as HL7 v2 ORU^R01, MSH-10 = the stored message's id.
    const oru = parse(results.oru as string);
    expect([get(oru, 'MSH-9.1'), get(oru, 'MSH-9.2')]).toEqual(['ORU', 'R01']);
    expect(get(oru, 'MSH-10')).toBe(results.hubMessageId);
    expect(get(oru, 'OBX[1]-3.1')).toBe(LOINC.E2);
    expect(get(oru, 'OBX[4]-3.1')).toBe(LOINC.HCG);
    expect(get(oru, 'OBX[2]-6.1')).toBe('m[IU]/mL');

    // Raw records and the parsed tree travel too.
    const astm = results.astm as { text: string; records: string[]; message: { records: unknown[] } };
    expect(astm.text).toBe(IMMULITE_IVF_STREAM);
    expect(astm.records.join('\r') + '\r').toBe(IMMULITE_IVF_STREAM);
    expect(astm.message.records).toHaveLength(15);

    // QC: its own output, no patient data, never in the Bundle.
    const qc = await taps.qc.next();
    const qcResults = qc.qc as LabResult[];
    expect(qcResults.map((r) => [r.specimenId, r.kind, r.qcReason, r.test.loinc])).toEqual([['QC-LOT42-L2', 'qc', 'specimen-prefix', LOINC.E2]]);
    expect(qc.payload).toEqual(qcResults);
    expect(canariesIn(qc)).toEqual([]);
    expect(JSON.stringify(bundle)).not.toContain('QC-LOT42-L2');
    expect(results.oru).not.toContain('QC-LOT42-L2');
    expect((results.results as LabResult[]).every((r) => r.kind === 'patient')).toBe(true);

    // Stored as received (raw E1394, before the ACK), endpoint = instrument id, then sent.
    const id = results.hubMessageId as string;
    await eventually(async () => (await hub.store.get(id))?.status === 'sent', 'status sent');
    const stored = await inbound(hub.store, 'immulite-lab1');
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      id,
      direction: 'inbound',
      messageType: 'ASTM',
      contentType: 'application/astm',
      sender: 'DPC',
      patientKey: hub.store.patientKey(CANARY_MRN),
      status: 'sent',
      errorCode: null,
    });
    expect(stored[0]!.controlId).toMatch(/^[0-9a-f]{32}$/);
    expect(stored[0]!.body!.toString('utf8')).toBe(IMMULITE_IVF_STREAM);
    expect([taps.queries.pending, taps.errors.pending]).toEqual([0, 0]);
    emitted.push(qc);
  });

  test('cobas-style: four IVF results, QC by action code on the QC output, the corrected hCG stays corrected', async () => {
    const { taps } = await start({ instrumentId: 'cobas-lab1', profile: 'cobas-e411' });
    await play(sim!, 'cobas-ivf', COBAS_IVF_STREAM);

    const results = await taps.results.next();
    const obs = observations(results.payload as FhirBundle);
    expect(obs.map(codeAndUnit)).toEqual([
      [LOINC.E2, 'pg/mL'],
      [LOINC.LH, 'm[IU]/mL'],
      [LOINC.P4, 'ng/mL'],
      [LOINC.HCG, 'm[IU]/mL'],
    ]);
    expect(obs[3]!.status).toBe('corrected');
    // Stimulation E2: no reference range, no range-based flag (the profile says so).
    expect(obs[0]!.referenceRange).toBeUndefined();
    const qc = await taps.qc.next();
    expect((qc.qc as LabResult[]).map((r) => [r.specimenId, r.qcReason])).toEqual([['PCU1-0042', 'action-code']]);
    expect(canariesIn(qc)).toEqual([]);

    const stored = await inbound(hub.store, 'cobas-lab1');
    expect(stored.map((r) => r.body!.toString('utf8'))).toEqual([COBAS_IVF_STREAM]);
    await eventually(async () => (await hub.store.get(stored[0]!.id))?.status === 'sent', 'status sent');
    expect(taps.errors.pending).toBe(0);
    emitted.push(qc);
  });

  test('an unmapped test code: error output names the code, the message is stored as error, the other results still come out', async () => {
    const { taps } = await start({ instrumentId: 'cobas-lab1', profile: 'cobas-e411' });
    await play(sim!, 'cobas-unmapped', COBAS_UNMAPPED_STREAM);

    const error = await taps.errors.next();
    expect(error.error).toEqual({ code: 'UNMAPPED_TEST', testCode: '999', message: 'test code "999" of instrument "cobas-lab1" has no mapping' });
    expect(error.payload).toEqual(error.error);
    expect(error.hubMessageId).toEqual(expect.any(String));

    // Nothing was guessed: the three mapped results, none for 999.
    const results = await taps.results.next();
    expect(observations(results.payload as FhirBundle).map((o) => o.code.coding![0]!.code)).toEqual([LOINC.E2, LOINC.P4, LOINC.HCG]);
    expect((results.results as LabResult[]).some((r) => r.test.code === '999')).toBe(false);

    const id = error.hubMessageId as string;
    await eventually(async () => (await hub.store.get(id))?.status === 'error', 'status error');
    const record = (await hub.store.get(id, { includeBody: true }))!;
    expect(record).toMatchObject({ status: 'error', errorCode: 'UNMAPPED_TEST', errorText: 'test code "999" of instrument "cobas-lab1" has no mapping' });
    expect(record.body!.toString('utf8')).toBe(COBAS_UNMAPPED_STREAM);
    await statuses.until((s) => s.text === 'error: UNMAPPED_TEST');
    expect(canariesIn(record.errorText)).toEqual([]);
    emitted.push(error);
  });

  test('a built-in profile with a mapping added in the node: the new code maps instead of failing', async () => {
    const tests = { 999: { loinc: '15067-2', display: 'Follitropin [Units/volume] in Serum or Plasma', unit: 'm[IU]/mL', instrumentUnits: ['mIU/mL'] } };
    const { taps } = await start({ instrumentId: 'cobas-lab1', profile: 'cobas-e411', profileJson: JSON.stringify({ tests }) });
    await play(sim!, 'cobas-unmapped', COBAS_UNMAPPED_STREAM);

    const results = await taps.results.next();
    expect(observations(results.payload as FhirBundle).map((o) => o.code.coding![0]!.code)).toEqual([LOINC.E2, '15067-2', LOINC.P4, LOINC.HCG]);
    await eventually(async () => (await hub.store.get(results.hubMessageId as string))?.status === 'sent', 'status sent');
    expect(taps.errors.pending).toBe(0);
  });

  test('several messages on one connection arrive in order, each stored once', async () => {
    const { taps } = await start({ instrumentId: 'immulite-lab1' });
    const second = IMMULITE_IVF_STREAM.replace('S26-004411', 'S26-004499');
    await play(sim!, 'first', IMMULITE_IVF_STREAM);
    await play(sim!, 'second', second);

    const a = await taps.results.next();
    const b = await taps.results.next();
    expect([(a.astm as { text: string }).text, (b.astm as { text: string }).text]).toEqual([IMMULITE_IVF_STREAM, second]);
    const stored = await inbound(hub.store, 'immulite-lab1');
    expect(stored.map((r) => r.body!.toString('utf8')).sort()).toEqual([IMMULITE_IVF_STREAM, second].sort());
  });
});
