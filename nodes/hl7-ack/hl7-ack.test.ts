import { get, getAll, parse, segmentGet } from '../../adapters/hl7';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { listenerNode, RawMllp, startTestHub, stepBehaviour, testStepNode, withHooks } from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import mllpInInit = require('../mllp-in/mllp-in');
import listenerInit = require('../mllp-listener/mllp-listener');
import type { MllpListenerNode } from '../mllp-listener/types';
import hl7AckInit = require('./hl7-ack');

helper.init(require.resolve('node-red'));

const nodes = [
  withCatalog(listenerInit, `${__dirname}/../mllp-listener`, 'mllp-listener'),
  withHooks(withCatalog(mllpInInit, `${__dirname}/../mllp-in`, 'mllp-in')),
  withCatalog(hl7AckInit, __dirname, 'hl7-ack'),
  testStepNode,
];

/** mllp-in → pre (test-step) → ack (hl7-ack) → out (helper); a catch node watches everything. */
function flow(listener: Record<string, unknown>, ack: Record<string, unknown>, extra: FlowNode[] = []): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'hl7-ack test' },
    listenerNode('L1', { ackMode: 'manual', ...listener }),
    { id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', x: 0, y: 0, wires: [['pre']] },
    { id: 'pre', z: 'f1', type: 'test-step', x: 0, y: 0, wires: [['ack']] },
    { id: 'ack', z: 'f1', type: 'hl7-ack', name: '', ackCode: 'AA', errorCode: '', errorText: '', x: 0, y: 0, ...ack, wires: [['out']] },
    { id: 'out', z: 'f1', type: 'helper', x: 0, y: 0 },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, x: 0, y: 0, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper', x: 0, y: 0 },
    ...extra,
  ];
}

function answer(response: Buffer): { code: string; controlId: string; errors: string[]; texts: string[] } {
  const ack = parse(response.toString('latin1'));
  const errs = getAll(ack, 'ERR');
  return {
    code: get(ack, 'MSA-1') ?? '',
    controlId: get(ack, 'MSA-2') ?? '',
    errors: errs.map((e) => segmentGet(ack, e, '3.1') ?? ''),
    texts: errs.map((e) => segmentGet(ack, e, '8') ?? ''),
  };
}

describe('hl7-ack node', () => {
  let hub: TestHub;
  const clients: RawMllp[] = [];

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    stepBehaviour('pre', undefined);
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    expect(canariesIn(hub.logger.lines)).toEqual([]);
  });

  async function connect(): Promise<RawMllp> {
    const listener = flowNode('L1') as MllpListenerNode;
    await listener.whenListening();
    const client = await RawMllp.open(listener.boundPort()!);
    clients.push(client);
    return client;
  }

  test('answers AA for the msg it gets and passes it on', async () => {
    await helper.load(nodes, flow({}, {}), {});
    const out = new MessageTap('out');
    const status = new StatusTap('ack');
    const client = await connect();

    expect(answer(await client.request(canaryOru('CTRL-300')))).toEqual({ code: 'AA', controlId: 'CTRL-300', errors: [], texts: [] });
    const msg = await out.next();
    expect(msg.hl7Ack).toEqual({ code: 'AA', sent: true });
    await status.until((s) => s.text === 'answered 1');
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: 'answered 1' });
  });

  test('AR from msg.ackCode with msg.ackErrors; the record is marked error NACK', async () => {
    await helper.load(nodes, flow({}, { ackCode: 'msg' }), {});
    stepBehaviour('pre', (msg, send, done) => {
      msg.ackCode = 'AR';
      msg.ackErrors = [{ code: 101, text: 'PID-3 missing', location: 'PID-3', severity: 'E' }, { code: 'junk' }];
      send(msg);
      done();
    });
    const out = new MessageTap('out');
    const client = await connect();

    expect(answer(await client.request(canaryOru('CTRL-301')))).toEqual({ code: 'AR', controlId: 'CTRL-301', errors: ['101'], texts: ['PID-3 missing'] });
    const msg = await out.next();
    expect(await hub.store.get(msg.hubMessageId as string)).toMatchObject({ status: 'error', errorCode: 'NACK' });
  });

  test('AE with the configured ERR code and text', async () => {
    await helper.load(nodes, flow({}, { ackCode: 'AE', errorCode: '206', errorText: 'record locked, retry' }), {});
    const client = await connect();
    expect(answer(await client.request(canaryOru('CTRL-302')))).toEqual({ code: 'AE', controlId: 'CTRL-302', errors: ['206'], texts: ['record locked, retry'] });
  });

  test('a second answer for the same msg reaches a Catch node and sends nothing', async () => {
    const extra: FlowNode[] = [{ id: 'ack2', z: 'f1', type: 'hl7-ack', name: '', ackCode: 'AE', errorCode: '', errorText: '', x: 0, y: 0, wires: [] }];
    const f = flow({}, {}, extra).map((n) => (n.id === 'ack' ? { ...n, wires: [['out', 'ack2']] } : n));
    await helper.load(nodes, f, {});
    const caught = new MessageTap('caught');
    const client = await connect();

    expect(answer(await client.request(canaryOru('CTRL-303'))).code).toBe('AA');
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ source: { id: 'ack2' }, code: 'NOT_FOUND' });
    expect((failed.error as { message: string }).message).toMatch(/already acknowledged|no acknowledgment is pending/);
  });

  test('a msg that did not come from mllp-in: CONFIG error to the Catch node', async () => {
    await helper.load(nodes, flow({}, {}), {});
    const caught = new MessageTap('caught');
    flowNode('ack').receive({ payload: canaryOru('CTRL-304'), patientId: CANARY_MRN } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ source: { id: 'ack' }, code: 'CONFIG' });
    expect(canariesIn(failed.error)).toEqual([]);
  });

  test('a bad msg.ackCode is an error', async () => {
    await helper.load(nodes, flow({}, { ackCode: 'msg' }), {});
    stepBehaviour('pre', (msg, send, done) => {
      msg.ackCode = 'OK';
      send(msg);
      done();
    });
    const caught = new MessageTap('caught');
    const client = await connect();
    client.send(canaryOru('CTRL-305'));
    const failed = await caught.next();
    expect((failed.error as { message: string }).message).toMatch(/the acknowledgment code must be AA, AE or AR$/);
  });

  test('after the listener timed out the message, the late answer is refused', async () => {
    await helper.load(nodes, flow({ processingTimeoutMs: '100' }, {}), {});
    const held: (() => void)[] = [];
    stepBehaviour('pre', (msg, send, done) => held.push(() => (send(msg), done())));
    const caught = new MessageTap('caught');
    const client = await connect();

    expect(answer(await client.request(canaryOru('CTRL-306'))).code).toBe('AE');
    held[0]!();
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ source: { id: 'ack' }, code: 'NOT_FOUND' });
  });

  test('in after-commit mode the answer is not the flow\'s: the msg passes with sent=false', async () => {
    await helper.load(nodes, flow({ ackMode: 'after-commit' }, { ackCode: 'AE' }), {});
    const out = new MessageTap('out');
    const client = await connect();
    expect(answer(await client.request(canaryOru('CTRL-307'))).code).toBe('AA');
    expect((await out.next()).hl7Ack).toEqual({ code: 'AE', sent: false });
    expect(logEvents().filter((e) => (e as { level?: number }).level === 20)).toEqual([]);
  });
});
