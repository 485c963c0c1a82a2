import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialize, type Hl7Message } from '../../adapters/hl7';
import { CANARY_MRN, CANARY_NAME, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import hl7ParseInit = require('./hl7-parse');
import type { Hl7SegmentView } from './field-view';

helper.init(require.resolve('node-red'));

const hl7ParseNode = withCatalog(hl7ParseInit, __dirname, 'hl7-parse');
const CORPUS = '/work/shared/corpus/hl7v2';

function flow(settings: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'n1', z: 'f1', type: 'hl7-parse', name: '', strict: false, allowUnterminated: true, fieldView: false, ...settings, wires: [['out']] },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

describe('hl7-parse node', () => {
  beforeEach(async () => {
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  async function load(settings: Record<string, unknown> = {}): Promise<{ out: MessageTap; caught: MessageTap; status: StatusTap }> {
    await helper.load(hl7ParseNode, flow(settings));
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  test('text becomes msg.hl7 with the header facts lifted onto msg', async () => {
    const { out, status } = await load();
    const text = canaryOru('CTRL-1');
    flowNode('n1').receive({ payload: text } as TestMsg);
    const msg = await out.next();

    expect(msg).toMatchObject({ payload: text, messageType: 'ORU^R01', controlId: 'CTRL-1', sender: 'IVFLIS^REPROLAB', receiver: 'IVFEMR^REPROCLINIC', patientId: CANARY_MRN });
    expect(serialize(msg.hl7 as Hl7Message)).toBe(text);
    expect(msg.hl7Fields).toBeUndefined();
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: 'parsed 1' });
    expect(canariesIn(status.all)).toEqual([]);
  });

  test('bytes are decoded per MSH-18', async () => {
    const { out } = await load();
    const text = canaryOru('CTRL-2').replace('|2.5.1', '|2.5.1||||||8859/1').replace('hCG beta', 'hCG \u00df');
    flowNode('n1').receive({ payload: Buffer.from(text, 'latin1') } as TestMsg);
    const msg = await out.next();
    expect(serialize(msg.hl7 as Hl7Message)).toBe(text);
  });

  test('a message without PID clears a stale msg.patientId', async () => {
    const { out } = await load();
    flowNode('n1').receive({ payload: 'MSH|^~\\&|A|B|C|D|20260101||ADT^A08|C3|P|2.5.1\r', patientId: 'OLD' } as TestMsg);
    expect((await out.next()).patientId).toBeUndefined();
  });

  test('the field view names and decodes fields', async () => {
    const { out } = await load({ fieldView: true });
    const text = canaryOru('CTRL-4').replace('OBX|1|NM|', 'OBX|1|NM|').concat('NTE|1||first~second \\T\\ third\r');
    flowNode('n1').receive({ payload: text } as TestMsg);
    const view = (await out.next()).hl7Fields as Hl7SegmentView[];

    expect(view.map((s) => s.segment)).toEqual(['MSH', 'PID', 'OBR', 'OBX', 'NTE']);
    const msh = view[0]!;
    expect(msh.fields.slice(0, 3)).toEqual([
      { path: 'MSH-1', name: 'Field Separator', value: '|' },
      { path: 'MSH-2', name: 'Encoding Characters', value: '^~\\&' },
      { path: 'MSH-3', name: 'Sending Application', value: 'IVFLIS' },
    ]);
    expect(msh.fields.find((f) => f.path === 'MSH-9')).toEqual({ path: 'MSH-9', name: 'Message Type', value: ['ORU', 'R01', 'ORU_R01'] });
    const pid = view[1]!;
    expect(pid.fields.find((f) => f.path === 'PID-5')).toEqual({ path: 'PID-5', name: 'Patient Name', value: CANARY_NAME.split('^') });
    expect(pid.fields.find((f) => f.path === 'PID-3')?.value).toEqual([CANARY_MRN, '', '', 'REPROCLINIC', 'MR']);
    expect(view[4]?.fields.find((f) => f.path === 'NTE-3')).toMatchObject({ repetitions: ['first', 'second & third'] });
  });

  test('repeated segments are told apart in the view', async () => {
    const { out } = await load({ fieldView: true });
    flowNode('n1').receive({ payload: canaryOru('CTRL-5') + 'OBX|2|ST|X^Y||a&b\r' } as TestMsg);
    const view = (await out.next()).hl7Fields as Hl7SegmentView[];
    const second = view.find((s) => s.segment === 'OBX' && s.occurrence === 2);
    expect(second?.fields.find((f) => f.path === 'OBX[2]-5')).toMatchObject({ name: 'Observation Value', value: [['a', 'b']] });
  });

  test('a batch file becomes one msg per message', async () => {
    const { out } = await load();
    const batch = ['FHS|^~\\&|LIS', 'BHS|^~\\&|LIS', canaryOru('B1').trimEnd(), canaryOru('B2').trimEnd(), 'BTS|2', 'FTS|1'].join('\r') + '\r';
    flowNode('n1').receive({ payload: batch } as TestMsg);
    const first = await out.next();
    const second = await out.next();
    expect([first.controlId, second.controlId]).toEqual(['B1', 'B2']);
    expect([first.batch, second.batch]).toEqual([{ index: 0, count: 2 }, { index: 1, count: 2 }]);
  });

  test('unparseable text: Catch gets PARSE, with no content in error, status or logs', async () => {
    const { out, caught, status } = await load();
    flowNode('n1').receive({ payload: `PID|1||${CANARY_MRN}^^^X^MR||${CANARY_NAME}\r` } as TestMsg);
    const failed = await caught.next();

    expect(failed.error).toMatchObject({ code: 'PARSE', source: { id: 'n1' } });
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: PARSE' });
    expect(out.pending).toBe(0);
    expect(canariesIn(failed.error)).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('a payload that is not text or bytes: Catch gets PARSE', async () => {
    const { caught } = await load();
    flowNode('n1').receive({ payload: { not: 'hl7' } } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'PARSE', message: 'IntegrationError: msg.payload is not HL7 text or bytes' });
  });

  test('strict and unterminated options reach the parser', async () => {
    const { out, caught } = await load({ strict: true, allowUnterminated: false });
    flowNode('n1').receive({ payload: canaryOru('CTRL-6').trimEnd() } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'PARSE' });
    flowNode('n1').receive({ payload: canaryOru('CTRL-7') + canaryOru('CTRL-8') } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'PARSE' });
    flowNode('n1').receive({ payload: canaryOru('CTRL-9') } as TestMsg);
    expect((await out.next()).controlId).toBe('CTRL-9');
  });
});

const corpusMissing = existsSync(CORPUS) ? undefined : `${CORPUS} not found`;
if (corpusMissing) console.warn(`hl7-parse corpus tests skipped: ${corpusMissing}`);
const describeCorpus = corpusMissing ? describe.skip : describe;

/**
 * Corpus files the hl7 adapter refuses on purpose (see adapters/hl7's corpus
 * test): MSH-2 with an escaped backslash, six "encoding characters".
 */
const REJECTED: Record<string, string> = {};

describeCorpus('hl7-parse node on the HL7 corpus', () => {
  const files = corpusMissing ? [] : readdirSync(CORPUS).filter((f) => f.endsWith('.hl7') && !(f in REJECTED));

  beforeAll(async () => {
    await helper.startServer();
  });

  afterAll(async () => {
    await helper.stopServer();
  });

  afterEach(async () => {
    await helper.unload();
  });

  test.each(files)('%s parses, with the field view', async (file) => {
    await helper.load(hl7ParseNode, flow({ fieldView: true }));
    const out = new MessageTap('out');
    const caught = new MessageTap('caught');
    const bytes = readFileSync(join(CORPUS, file));
    flowNode('n1').receive({ payload: bytes } as TestMsg);
    const msg = await Promise.race([out.next(), caught.next().then((m) => Promise.reject(new Error(`caught: ${JSON.stringify(m.error)}`)))]);

    expect(typeof msg.controlId).toBe('string');
    expect(Array.isArray(msg.hl7Fields)).toBe(true);
    expect(msg.messageType).toMatch(/^[A-Z0-9]{3}/);
  });

  test.each([...Object.keys(REJECTED), 'malformed/oru_r01_missing_msh.hl7'])('%s is a PARSE error', async (file) => {
    await helper.load(hl7ParseNode, flow());
    const caught = new MessageTap('caught');
    flowNode('n1').receive({ payload: readFileSync(join(CORPUS, file)) } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'PARSE' });
  });
});
