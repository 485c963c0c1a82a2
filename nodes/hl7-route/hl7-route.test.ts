import { parse } from '../../adapters/hl7';
import { CANARY_MRN, CANARY_NAME, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import hl7RouteInit = require('./hl7-route');
import { compileRule, route, type RouteRuleDef } from './route-rules';

helper.init(require.resolve('node-red'));

const hl7RouteNode = withCatalog(hl7RouteInit, __dirname, 'hl7-route');
const LOG_ERROR = 20;

function hl7(type: string, options: { app?: string; facility?: string; extra?: string } = {}): string {
  return [
    `MSH|^~\\&|${options.app ?? 'IVFLIS'}|${options.facility ?? 'REPROLAB'}|IVFEMR|REPROCLINIC|20260101||${type}|C-${type}|P|2.5.1`,
    `PID|1||${CANARY_MRN}^^^REPROCLINIC^MR||${CANARY_NAME}`,
    options.extra ?? 'PV1|1|O|IVF^ROOM1',
  ].join('\r') + '\r';
}

describe('route rules', () => {
  const matches = (rule: RouteRuleDef, text: string): boolean => compileRule(rule)(parse(text));

  test.each([
    ['ADT^*', 'ADT^A08^ADT_A01', true],
    ['ADT^A0*', 'ADT^A08', true],
    ['ADT^A0*', 'ADT^A40^ADT_A39', false],
    ['ADT', 'ADT^A04', true],
    ['adt^a04', 'ADT^A04', true],
    ['*^R01', 'ORU^R01^ORU_R01', true],
    ['ORU^R01^ORU_R01', 'ORU^R01^ORU_R01', true],
    ['ORU^R01^ORU_R01', 'ORU^R01', false],
    ['ADT^A01, ADT^A04', 'ADT^A04', true],
    ['ADT^A0?', 'ADT^A10', false],
    ['SIU^S1?', 'SIU^S12', true],
    ['ACK', 'ACK', true],
  ])('type %s vs %s: %s', (pattern, type, expected) => {
    expect(matches({ t: 'type', v: pattern }, hl7(type))).toBe(expected);
  });

  test('sending application and facility', () => {
    expect(matches({ t: 'app', v: 'IVF*' }, hl7('ORU^R01'))).toBe(true);
    expect(matches({ t: 'app', v: 'LIS, IVFLIS' }, hl7('ORU^R01'))).toBe(true);
    expect(matches({ t: 'app', v: 'EMR' }, hl7('ORU^R01'))).toBe(false);
    expect(matches({ t: 'facility', v: 'reprolab' }, hl7('ORU^R01'))).toBe(true);
    expect(matches({ t: 'facility', v: 'OTHER' }, hl7('ORU^R01'))).toBe(false);
  });

  test('paths: equals, regex, has a value', () => {
    const text = hl7('ADT^A04');
    expect(matches({ t: 'path', p: 'PV1-3.1', op: 'eq', v: 'IVF' }, text)).toBe(true);
    expect(matches({ t: 'path', p: 'PV1-3', op: 'eq', v: 'IVF' }, text)).toBe(true);
    expect(matches({ t: 'path', p: 'PV1-3.2', op: 'eq', v: 'IVF' }, text)).toBe(false);
    expect(matches({ t: 'path', p: 'PV1-2', op: 'regex', v: '^[IO]$' }, text)).toBe(true);
    expect(matches({ t: 'path', p: 'PV1-19', op: 'regex', v: '.*' }, text)).toBe(false);
    expect(matches({ t: 'path', p: 'PID-3[1].4', op: 'exists' }, text)).toBe(true);
    expect(matches({ t: 'path', p: 'PID-3[2].4', op: 'exists' }, text)).toBe(false);
    expect(matches({ t: 'path', p: 'ZIV-1', op: 'exists' }, text)).toBe(false);
  });

  test('bad rules are refused when compiled', () => {
    expect(() => compileRule({ t: 'path', p: 'PV1', op: 'eq', v: 'x' })).toThrow('names a segment, not a field');
    expect(() => compileRule({ t: 'path', p: 'PV13', op: 'eq', v: 'x' })).toThrow('not an HL7 path');
    expect(() => compileRule({ t: 'path', p: 'PV1-3', op: 'regex', v: '(' })).toThrow(SyntaxError);
    expect(() => compileRule({ t: 'type', v: ' , ' })).toThrow('no message type pattern');
  });

  test('first match, all matches, otherwise', () => {
    const matchers = [compileRule({ t: 'type', v: 'ADT^*' }), compileRule({ t: 'app', v: 'IVFLIS' })];
    const message = parse(hl7('ADT^A04'));
    expect(route(matchers, message, { mode: 'first', otherwise: true })).toEqual([0]);
    expect(route(matchers, message, { mode: 'all', otherwise: true })).toEqual([0, 1]);
    expect(route(matchers, parse(hl7('ORU^R01', { app: 'X' })), { mode: 'all', otherwise: true })).toEqual([2]);
    expect(route(matchers, parse(hl7('ORU^R01', { app: 'X' })), { mode: 'all', otherwise: false })).toEqual([]);
  });
});

describe('hl7-route node', () => {
  beforeEach(async () => {
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  async function load(rules: RouteRuleDef[], settings: Record<string, unknown> = {}): Promise<{ outs: MessageTap[]; caught: MessageTap; status: StatusTap }> {
    const otherwise = settings.otherwise !== false;
    const count = rules.length + (otherwise ? 1 : 0);
    const outs = Array.from({ length: count }, (_v, i) => `o${i}`);
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'n1', z: 'f1', type: 'hl7-route', name: '', rules, mode: 'first', otherwise, outputs: count, ...settings, wires: outs.map((o) => [o]) },
      ...outs.map((id) => ({ id, z: 'f1', type: 'helper' })),
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load(hl7RouteNode, flow);
    return { outs: outs.map((id) => new MessageTap(id)), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  const RULES: RouteRuleDef[] = [
    { t: 'type', v: 'ADT^A0*' },
    { t: 'type', v: 'ORU^R01' },
    { t: 'path', p: 'PV1-3.1', op: 'eq', v: 'IVF' },
  ];

  test('first match: each message goes to the first matching output, else to otherwise', async () => {
    const { outs } = await load(RULES);
    const [adt, oru, ivf, otherwise] = outs as [MessageTap, MessageTap, MessageTap, MessageTap];

    flowNode('n1').receive({ hl7: parse(hl7('ADT^A08')) } as TestMsg);
    flowNode('n1').receive({ hl7: parse(hl7('ORU^R01^ORU_R01')) } as TestMsg);
    flowNode('n1').receive({ hl7: parse(hl7('SIU^S12')) } as TestMsg);
    flowNode('n1').receive({ hl7: parse(hl7('SIU^S14', { extra: 'PV1|1|O|LAB' })) } as TestMsg);

    expect(((await adt.next()).hl7 as { segments: unknown[] }).segments).toHaveLength(3);
    await oru.next();
    await ivf.next();
    await otherwise.next();
    expect([adt.pending, oru.pending, ivf.pending, otherwise.pending]).toEqual([0, 0, 0, 0]);
  });

  test('all matches: one copy per matching output', async () => {
    const { outs } = await load(RULES, { mode: 'all' });
    const [adt, oru, ivf, otherwise] = outs as [MessageTap, MessageTap, MessageTap, MessageTap];
    flowNode('n1').receive({ hl7: parse(hl7('ADT^A04')), tag: 'both' } as TestMsg);
    flowNode('n1').receive({ hl7: parse(hl7('MDM^T02', { extra: 'PV1|1|O|LAB' })), tag: 'none' } as TestMsg);

    const [a, i] = [await adt.next(), await ivf.next()];
    expect([a.tag, i.tag]).toEqual(['both', 'both']);
    expect(a).not.toBe(i);
    expect((await otherwise.next()).tag).toBe('none');
    expect(oru.pending).toBe(0);
  });

  test('without an otherwise output, unmatched messages are dropped quietly', async () => {
    const { outs, caught } = await load([{ t: 'type', v: 'ORU^*' }], { otherwise: false });
    flowNode('n1').receive({ hl7: parse(hl7('ADT^A04')), n: 1 } as TestMsg);
    flowNode('n1').receive({ hl7: parse(hl7('ORU^R01')), n: 2 } as TestMsg);
    expect((await outs[0]!.next()).n).toBe(2);
    expect(caught.pending).toBe(0);
  });

  test('parses msg.payload when there is no msg.hl7 and sets it', async () => {
    const { outs } = await load([{ t: 'app', v: 'IVFLIS' }]);
    flowNode('n1').receive({ payload: Buffer.from(hl7('ORU^R01')) } as TestMsg);
    const msg = await outs[0]!.next();
    expect(msg.hl7).toEqual(parse(hl7('ORU^R01')));
  });

  test('unparseable input: Catch gets PARSE, no content anywhere', async () => {
    const { outs, caught, status } = await load(RULES);
    flowNode('n1').receive({ payload: `PID|1||${CANARY_MRN}||${CANARY_NAME}\r` } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE', source: { id: 'n1' } });
    await status.until((s) => s.text === 'error: PARSE');
    expect(outs.every((o) => o.pending === 0)).toBe(true);
    expect(canariesIn(failed.error)).toEqual([]);
    expect(canariesIn(status.all)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);

    // The next good message clears the error status.
    flowNode('n1').receive({ payload: canaryOru('CTRL-1') } as TestMsg);
    await outs[1]!.next();
    expect(status.last).toEqual({});
  });

  test('nothing to route: Catch gets PARSE', async () => {
    const { caught } = await load(RULES);
    flowNode('n1').receive({ payload: 7 } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'PARSE' });
  });

  test('a bad rule is reported at deploy, and messages fail with CONFIG', async () => {
    const { caught } = await load([{ t: 'type', v: 'ADT^*' }, { t: 'path', p: 'PV1-3', op: 'regex', v: '([' }]);
    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(String((errors[0] as { msg: unknown }).msg)).toMatch(/^invalid hl7 route configuration: rule 2: Invalid regular expression/);
    flowNode('n1').receive({ payload: canaryOru('CTRL-2') } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'CONFIG' });
  });
});
