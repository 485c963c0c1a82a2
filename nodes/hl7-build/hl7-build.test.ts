import { get, parse, serialize, type Hl7Message } from '../../adapters/hl7';
import { CANARY_MRN, CANARY_NAME, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { hl7Timestamp } from './generated-values';
import hl7BuildInit = require('./hl7-build');

helper.init(require.resolve('node-red'));

const hl7BuildNode = withCatalog(hl7BuildInit, __dirname, 'hl7-build');
const LOG_ERROR = 20;

const TEMPLATE = ['MSH|^~\\&|IVFHUB|REPROCLINIC|IVFEMR|REPROCLINIC|||ADT^A08^ADT_A01||P|2.5.1', 'EVN|A08', 'PID|1'].join('\n');

interface Rule {
  p: string;
  vt: string;
  v?: string;
  enc?: boolean;
}

function flow(settings: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    { id: 'n1', z: 'f1', type: 'hl7-build', name: '', source: 'msg', template: '', rules: [], ...settings, wires: [['out']] },
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

describe('hl7-build node', () => {
  beforeEach(async () => {
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    delete process.env.HL7_BUILD_TEST_FACILITY;
  });

  async function load(settings: Record<string, unknown>): Promise<{ out: MessageTap; caught: MessageTap; status: StatusTap }> {
    await helper.load(hl7BuildNode, flow(settings));
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  test('builds from the template with every kind of value', async () => {
    process.env.HL7_BUILD_TEST_FACILITY = 'REPROLAB';
    const rules: Rule[] = [
      { p: 'MSH-10', vt: 'hl7ctrl' },
      { p: 'MSH-7', vt: 'hl7now' },
      { p: 'MSH-6', vt: 'env', v: 'HL7_BUILD_TEST_FACILITY' },
      { p: 'PID-3[1].1', vt: 'msg', v: 'patientId' },
      { p: 'PID-3[1].4', vt: 'str', v: 'REPROCLINIC' },
      { p: 'PID-5[1].1', vt: 'jsonata', v: '$uppercase(person.family)' },
      { p: 'PID-5[1].2', vt: 'flow', v: 'given' },
      { p: 'PID-8', vt: 'global', v: 'sex' },
      { p: 'PV1-1', vt: 'num', v: '1' },
    ];
    const { out } = await load({ source: 'template', template: TEMPLATE, rules });
    flowNode('n1').context().flow.set('given', 'CANARYGIVEN');
    flowNode('n1').context().global.set('sex', 'F');
    const before = Date.now();

    flowNode('n1').receive({ patientId: CANARY_MRN, person: { family: 'canarysurname' } } as TestMsg);
    const msg = await out.next();
    const message = msg.hl7 as Hl7Message;

    expect(msg.payload).toBe(serialize(message));
    expect((msg.payload as string).split('\r')).toHaveLength(5);
    expect(msg.payload as string).not.toContain('\n');
    expect(get(message, 'MSH-10')).toMatch(/^[0-9A-F]{20}$/);
    expect(msg.controlId).toBe(get(message, 'MSH-10'));
    expect(msg.messageType).toBe('ADT^A08');
    expect(get(message, 'MSH-7')).toMatch(/^\d{14}[+-]\d{4}$/);
    expect([hl7Timestamp(new Date(before)).slice(0, 12), hl7Timestamp(new Date()).slice(0, 12)]).toContain(get(message, 'MSH-7')?.slice(0, 12));
    expect(get(message, 'MSH-6')).toBe('REPROLAB');
    expect(get(message, 'PID-3[1].1')).toBe(CANARY_MRN);
    expect(get(message, 'PID-3[1].4')).toBe('REPROCLINIC');
    expect(get(message, 'PID-5[1].1')).toBe('CANARYSURNAME');
    expect(get(message, 'PID-5[1].2')).toBe('CANARYGIVEN');
    expect(get(message, 'PID-8')).toBe('F');
    expect(get(message, 'PV1-1')).toBe('1');
  });

  test('every message gets its own control ID', async () => {
    const { out } = await load({ source: 'template', template: TEMPLATE, rules: [{ p: 'MSH-10', vt: 'hl7ctrl' }] });
    const ids = new Set<unknown>();
    for (let i = 0; i < 5; i++) {
      flowNode('n1').receive({} as TestMsg);
      ids.add((await out.next()).controlId);
    }
    expect(ids.size).toBe(5);
  });

  test('starts from a copy of msg.hl7 and replaces msg.payload with the result', async () => {
    const { out } = await load({ rules: [{ p: 'MSH-5', vt: 'str', v: 'BILLING' }] });
    const original = parse(canaryOru('CTRL-1'));
    const before = serialize(original);
    flowNode('n1').receive({ hl7: original, payload: 'the inbound text' } as TestMsg);
    const msg = await out.next();

    expect(get(msg.hl7 as Hl7Message, 'MSH-5')).toBe('BILLING');
    expect(msg.payload).toBe(canaryOru('CTRL-1').replace('|IVFEMR|', '|BILLING|'));
    expect(serialize(original)).toBe(before);
  });

  test('starts from msg.payload text when there is no msg.hl7, keeping its line ends', async () => {
    const { out } = await load({ rules: [{ p: 'OBX-5', vt: 'str', v: '160.2' }] });
    flowNode('n1').receive({ payload: canaryOru('CTRL-2') } as TestMsg);
    expect((await out.next()).payload).toBe(canaryOru('CTRL-2').replace('||152.4|', '||160.2|'));
  });

  test('plain values are escaped; encoded values keep their delimiters', async () => {
    const { out } = await load({
      source: 'template',
      template: TEMPLATE,
      rules: [
        { p: 'PID-5', vt: 'str', v: 'DOE^JANE', enc: true },
        { p: 'PID-11[1].1', vt: 'str', v: '1 Main St^Apt 2' },
      ],
    });
    flowNode('n1').receive({} as TestMsg);
    const msg = await out.next();
    expect((msg.payload as string).split('\r')[2]).toBe('PID|1||||DOE^JANE||||||1 Main St\\S\\Apt 2');
  });

  test.each([
    ['undefined', { p: 'PID-3[1].1', vt: 'msg', v: 'missing' }, 'hl7 build rule 1 (PID-3[1].1): value is undefined; expected text, a number or a date'],
    ['an object', { p: 'PID-5', vt: 'msg', v: 'person' }, 'hl7 build rule 1 (PID-5): value is object; expected text, a number or a date'],
    ['a failed JSONata expression', { p: 'PID-5', vt: 'jsonata', v: '$number(person.name)' }, 'hl7 build rule 1 (PID-5): jsonata evaluation failed'],
    ['a delimiter in an encoded value at its own level', { p: 'PID-5.1', vt: 'msg', v: 'raw', enc: true }, 'raw value for "PID-5.1" contains a delimiter'],
    ['a read-only field', { p: 'MSH-2', vt: 'str', v: '^~\\&' }, 'MSH-2 defines the delimiters and cannot be set'],
  ])('%s: Catch gets CONFIG, naming the rule and path, not the value', async (_name, rule, message) => {
    const { out, caught, status } = await load({ source: 'template', template: TEMPLATE, rules: [rule] });
    flowNode('n1').receive({ person: { name: CANARY_NAME }, raw: `${CANARY_MRN}^X` } as TestMsg);
    const failed = await caught.next();

    expect(failed.error).toMatchObject({ code: 'CONFIG', source: { id: 'n1' } });
    expect((failed.error as { message: string }).message).toContain(message);
    expect(out.pending).toBe(0);
    await status.until((s) => s.text === 'error: CONFIG');
    expect(canariesIn(failed.error)).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('nothing to build on: PARSE', async () => {
    const { caught } = await load({ rules: [] });
    flowNode('n1').receive({ payload: 42 } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'PARSE' });
  });

  test('unparseable msg.payload: PARSE without content', async () => {
    const { caught } = await load({ rules: [] });
    flowNode('n1').receive({ payload: `PID|1||${CANARY_MRN}` } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE' });
    expect(canariesIn(failed.error)).toEqual([]);
  });

  test.each([
    ['a bad path', { source: 'msg', rules: [{ p: 'PID5', vt: 'str', v: 'x' }] }, 'rule 1: not an HL7 path: "PID5"'],
    ['a segment-only path', { source: 'msg', rules: [{ p: 'PID', vt: 'str', v: 'x' }] }, 'rule 1: "PID" names a segment, not a field'],
    ['an empty template', { source: 'template', template: '  ', rules: [] }, 'the template is empty'],
    ['a template that is not HL7', { source: 'template', template: 'PID|1', rules: [] }, 'the template is not HL7'],
  ])('%s is reported at deploy, and each msg fails with CONFIG', async (_name, settings, reason) => {
    const { caught } = await load(settings);
    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(String((errors[0] as { msg: unknown }).msg)).toContain(`invalid hl7 build configuration: ${reason}`);

    flowNode('n1').receive({ payload: canaryOru('CTRL-3') } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'CONFIG' });
  });
});

describe('hl7Timestamp', () => {
  test('formats local time with its UTC offset', () => {
    const date = new Date(2026, 2, 14, 9, 30, 15);
    const offset = -date.getTimezoneOffset();
    const sign = offset >= 0 ? '+' : '-';
    const hhmm = `${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}${String(Math.abs(offset) % 60).padStart(2, '0')}`;
    expect(hl7Timestamp(date)).toBe(`20260314093015${sign}${hhmm}`);
  });
});
