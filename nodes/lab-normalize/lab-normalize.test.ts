import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import labNormalizeInit = require('./lab-normalize');

helper.init(require.resolve('node-red'));

const node = withCatalog(labNormalizeInit, __dirname, 'lab-normalize');

describe('lab-normalize node', () => {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  async function load(settings: Record<string, unknown> = {}) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'n1', z: 'f1', type: 'lab-normalize', tests: '{"PRL": {"loinc": "2842-3", "unit": "ng/mL"}}', qcPrefixes: 'QC', utcOffset: '', patientIdSystem: '', ...settings, wires: [['results'], ['qc'], ['errors']] },
      { id: 'results', z: 'f1', type: 'helper' },
      { id: 'qc', z: 'f1', type: 'helper' },
      { id: 'errors', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load(node, flow);
    return { results: new MessageTap('results'), qc: new MessageTap('qc'), errors: new MessageTap('errors'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  test('an ORU becomes Observations (output 1), QC apart (output 2), unmapped results named (output 3)', async () => {
    const { results, qc, errors, status } = await load();
    const text = canaryOru('CTL-1').concat(
      'OBX|2|NM|PRL^Prolactin^L||12.1|ng/mL|||||F\r',
      'OBX|3|NM|ZZZ^Mystery^L||1|ng/mL|||||F\r',
      'OBR|2|ORD2|QC-LOT-9|2243-4^Estradiol^LN\r',
      'OBX|1|NM|2243-4^Estradiol^LN||180|pg/mL|||||F\r',
    );
    flowNode('n1').receive({ payload: text, hubMessageId: 'rec-1' } as TestMsg);
    const out = await results.next();
    expect((out.payload as { code: { coding: { code: string }[] } }[]).map((o) => o.code.coding[0]!.code)).toEqual(['21198-7', '2842-3']);
    expect(out.observations).toBe(out.payload);
    expect(out.hubMessageId).toBe('rec-1');
    expect(out.patientId).toBe(CANARY_MRN);
    const q = await qc.next();
    expect(q.payload).toEqual([expect.objectContaining({ specimenId: 'QC-LOT-9', reason: 'specimen-prefix' })]);
    expect(canariesIn(q.payload)).toEqual([]);
    const e = await errors.next();
    expect(e.error).toEqual({ code: 'PARSE', message: expect.any(String), reason: 'unmapped-test', testCode: 'ZZZ' });
    await status.until((s) => s.text === '2 results, 1 QC, 1 unmapped');
    expect(canariesIn([status.all, logEvents(), e])).toEqual([]);
  });

  test('text that is not HL7 reaches Catch as PARSE, not retryable, without echoing it', async () => {
    const { caught } = await load();
    flowNode('n1').receive({ payload: `not hl7 ${CANARY_MRN}` } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE' });
    expect(failed.retryable).toBe(false);
    expect(canariesIn(failed.error)).toEqual([]);
  });

  test('a mapping that is not a JSON object is a configuration error', async () => {
    const { status } = await load({ tests: '[1,2]' });
    await status.until((s) => s.text === 'error: CONFIG');
  });
});
