import { fieldRepeats, fieldValue } from '../../adapters/astm';
import type { AstmHostQuery, AstmMessage, AstmOrderInput } from '../../adapters/astm';
import { CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { astmNodes, inbound, instrumentNode, listeningInstrument, outbound, play, startAnalyzer } from '../support/astm-harness';
import { eventually, startTestHub, stepBehaviour, testStepNode } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap } from '../support/node-red-helper';
import type { FlowNode, TestMsg } from '../support/node-red-helper';
import type { AnalyzerSimulator } from '../sim/analyzer-simulator';

/**
 * Host query round trip over real loopback sockets: the analyzer asks (Q
 * record), astm-in emits the query, the flow answers through astm-out, and
 * the analyzer receives the O records in a new session. Also: the hub's own
 * "no information" answer when the flow is late, and order downloads the hub
 * starts, in both transport modes.
 */

helper.init(require.resolve('node-red'));

const [FAMILY, GIVEN] = CANARY_NAME.split('^') as [string, string];
const ORDERS: Record<string, AstmOrderInput> = {
  '123ABC': { specimenId: '123ABC', tests: ['E2', 'LH', 'PGSN'], patient: { id: CANARY_MRN, name: { family: FAMILY, given: GIVEN } } },
};
const IMMULITE_QUERY = 'H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|20261203101500\rQ|1|^123ABC||ALL||||||||O\rL|1\r';
const E411_QUERY = 'H|\\^&|||cobas-e411^1|||||host|TSREQ^REAL|P|1\rQ|1|^^000004^40^0^5^^S1^SC\\^^123ABC^41^0^6^^S1^SC||ALL||||||||O\rL|1|N\r';

function flow(instrument: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'astm host query' },
    instrumentNode('I1', instrument),
    { id: 'in1', z: 'f1', type: 'astm-in', name: '', instrument: 'I1', wires: [['results'], ['qc'], ['answer'], ['errors']] },
    { id: 'answer', z: 'f1', type: 'test-step', wires: [['out1']] },
    { id: 'out1', z: 'f1', type: 'astm-out', name: '', instrument: 'I1', retries: '0', retryDelayMs: '10', wires: [['sent']] },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'results', z: 'f1', type: 'helper' },
    { id: 'qc', z: 'f1', type: 'helper' },
    { id: 'errors', z: 'f1', type: 'helper' },
    { id: 'sent', z: 'f1', type: 'helper' },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

/** The flow's answer: orders from a table by the queried specimen IDs. */
function answerFromTable(): void {
  stepBehaviour('answer', (msg, send, done) => {
    const query = msg.query as AstmHostQuery;
    msg.orders = query.specimenIds.flatMap((id) => (ORDERS[id] ? [ORDERS[id]!] : []));
    send(msg);
    done();
  });
}

function orderRecords(m: AstmMessage): AstmMessage['records'] {
  return m.patients.flatMap((p) => p.orders.map((o) => o.record!));
}

describe('ASTM host query and order download (astm-in → flow → astm-out)', () => {
  let hub: TestHub;
  let sim: AnalyzerSimulator | undefined;
  const seen: unknown[] = [];

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    stepBehaviour('answer', undefined);
    await sim?.close();
    sim = undefined;
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
    expect(canariesIn(seen.splice(0))).toEqual([]);
  });

  test('IMMULITE-style query (hub listens): the flow answers and the analyzer receives its O records in a new session', async () => {
    await helper.load([...astmNodes(), testStepNode], flow({ instrumentId: 'immulite-lab1', profile: 'immulite-2000' }), {});
    answerFromTable();
    const sent = new MessageTap('sent');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });

    await play(sim, 'immulite-query', IMMULITE_QUERY);
    await sim.waitForReceived(1, 20_000);

    const answer = sim.received[0]!.message;
    const d = answer.delimiters;
    expect(answer.records.map((r) => r.type).join('')).toBe('HPOOOL');
    expect(fieldValue(answer.patients[0]!.record!, 3, d)).toBe(CANARY_MRN);
    const orders = orderRecords(answer);
    expect(orders.map((o) => fieldValue(o, 3, d))).toEqual(['123ABC', '123ABC', '123ABC']);
    expect(orders.map((o) => fieldValue(o, 5, d, 4))).toEqual(['E2', 'LH', 'PGSN']);
    expect(orders.map((o) => fieldValue(o, 26, d))).toEqual(['Q', 'Q', 'Q']);
    expect(fieldValue(answer.header, 5, d)).toBe('IVF-HUB');

    const out = await sent.next();
    const query = (await inbound(hub.store, 'immulite-lab1'))[0]!;
    expect(out.hubMessageId).toBe(query.id);
    expect(out.astmSent).toMatchObject({ attempts: 1, frames: 6, retransmissions: 0 });
    expect(query.body!.toString('utf8')).toBe(IMMULITE_QUERY);
    await eventually(async () => (await hub.store.get(query.id))?.status === 'sent', 'query record sent');
    const answers = await outbound(hub.store, 'immulite-lab1');
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ id: (out.astmSent as { hubMessageId: string }).hubMessageId, parentId: query.id, status: 'sent', attempts: 1, patientKey: hub.store.patientKey(CANARY_MRN) });
    expect(answers[0]!.body!.toString('utf8')).toBe(sim.received[0]!.text);
  });

  test('cobas e411-style query with the hub connecting to a terminal server: unknown specimens answered without tests', async () => {
    sim = await startAnalyzer({ mode: 'server', port: 0 });
    await helper.load([...astmNodes(), testStepNode], flow({ instrumentId: 'cobas-lab1', profile: 'cobas-e411', mode: 'client', host: '127.0.0.1', port: String(sim.port) }), {});
    answerFromTable();
    const node = await listeningInstrument('I1');
    await eventually(() => node.connectionCount() === 1, 'the hub to connect to the terminal server');

    await play(sim, 'e411-query', E411_QUERY);
    await sim.waitForReceived(1, 20_000);

    const answer = sim.received[0]!.message;
    const d = answer.delimiters;
    expect(fieldRepeats(answer.header, 11, d)).toEqual([['TSDWN', 'REPLY']]);
    const orders = orderRecords(answer);
    expect(orders.map((o) => fieldValue(o, 3, d))).toEqual(['123ABC', '000004']);
    expect(fieldRepeats(orders[0]!, 5, d).map((r) => r[3])).toEqual(['E2', 'LH', 'PGSN']);
    expect(fieldRepeats(orders[1]!, 5, d)).toEqual([]);
    expect(fieldRepeats(orders[1]!, 4, d)).toEqual([['40', '0', '5', '', 'S1', 'SC']]);
  });

  test('the flow does not answer in time: the hub answers "no information", reports TIMEOUT, and a late answer fails at astm-out', async () => {
    await helper.load([...astmNodes(), testStepNode], flow({ instrumentId: 'immulite-lab1', queryTimeoutMs: '200' }), {});
    const held: TestMsg[] = [];
    stepBehaviour('answer', (msg, _send, done) => {
      held.push(msg);
      done();
    });
    const errors = new MessageTap('errors');
    const caught = new MessageTap('caught');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });

    await play(sim, 'immulite-query', IMMULITE_QUERY);
    await sim.waitForReceived(1, 20_000);
    const answer = sim.received[0]!.message;
    expect(answer.records.map((r) => r.type).join('')).toBe('HL');
    expect(fieldValue(answer.terminator!, 3, answer.delimiters)).toBe('I');

    const timeout = await errors.next();
    expect(timeout.error).toMatchObject({ code: 'TIMEOUT' });
    const query = (await inbound(hub.store, 'immulite-lab1'))[0]!;
    expect(timeout.hubMessageId).toBe(query.id);
    await eventually(async () => (await hub.store.get(query.id))?.status === 'error', 'query record error');
    expect(await hub.store.get(query.id)).toMatchObject({ errorCode: 'TIMEOUT' });

    // The flow's answer arrives after all: refused, not sent a second time.
    expect(held).toHaveLength(1);
    const late = { ...held[0]!, orders: [ORDERS['123ABC']!] };
    flowNode('out1').receive(late);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ source: { id: 'out1' } });
    expect((failed.error as { message: string }).message).toMatch(/timed out/);
    expect(failed.retryable).toBe(false);
    expect(sim.received).toHaveLength(1);
    seen.push(timeout, failed.error);
  });

  test('order download started by the hub: astm-out sends the orders in a new session and records them', async () => {
    await helper.load([...astmNodes(), testStepNode], flow({ instrumentId: 'immulite-lab1' }), {});
    const sent = new MessageTap('sent');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await eventually(() => node.connectionCount() === 1, 'the analyzer to connect');

    flowNode('out1').receive({ orders: [ORDERS['123ABC']!, { specimenId: 'S26-0099', tests: ['HCG'], priority: 'S' }] });
    const out = await sent.next();
    await sim.waitForReceived(1, 20_000);

    const download = sim.received[0]!.message;
    const d = download.delimiters;
    // One test per O record (the IMMULITE dialect); report type O; the second order has no patient.
    expect(download.records.map((r) => r.type).join('')).toBe('HPOOOPOL');
    const orders = orderRecords(download);
    expect(orders.map((o) => [fieldValue(o, 3, d), fieldValue(o, 5, d, 4), fieldValue(o, 6, d), fieldValue(o, 26, d)])).toEqual([
      ['123ABC', 'E2', 'R', 'O'],
      ['123ABC', 'LH', 'R', 'O'],
      ['123ABC', 'PGSN', 'R', 'O'],
      ['S26-0099', 'HCG', 'S', 'O'],
    ]);
    const records = await outbound(hub.store, 'immulite-lab1');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ id: (out.astmSent as { hubMessageId: string }).hubMessageId, status: 'sent', parentId: null, messageType: 'ASTM', contentType: 'application/astm' });
    expect(records[0]!.body!.toString('utf8')).toBe(sim.received[0]!.text);
  });

  test('order download with nobody connected: retried, then CONNECT_FAILED reaches the Catch node with msg.retryable', async () => {
    await helper.load([...astmNodes(), testStepNode], flow({ instrumentId: 'immulite-lab1', connectTimeoutMs: '50' }).map((n) => (n.id === 'out1' ? { ...n, retries: '1', retryDelayMs: '10' } : n)), {});
    const caught = new MessageTap('caught');
    await listeningInstrument('I1');

    flowNode('out1').receive({ orders: [ORDERS['123ABC']!] });
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ source: { id: 'out1' } });
    expect(failed.retryable).toBe(true);
    const records = await outbound(hub.store, 'immulite-lab1');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ status: 'error', errorCode: 'CONNECT_FAILED', attempts: 2 });
    expect(canariesIn(records[0]!.errorText)).toEqual([]);
    seen.push(failed.error);
  });
});
