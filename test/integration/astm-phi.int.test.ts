import { IMMULITE_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { StoreError } from '../../adapters/store';
import type { NewMessage } from '../../adapters/store';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import type { AnalyzerSimulator } from '../sim/analyzer-simulator';
import { astmNodes, instrumentNode, listeningInstrument, play, startAnalyzer } from '../support/astm-harness';
import { eventually, startTestHub, stepBehaviour, testStepNode } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap } from '../support/node-red-helper';
import type { FlowNode, TestMsg } from '../support/node-red-helper';

/**
 * No canary PHI on any error path of the ASTM nodes: hub logs (every level),
 * Node-RED's log, status texts, the error output, Catch-node errors and the
 * store's error texts, while the messages themselves are full of it.
 */

helper.init(require.resolve('node-red'));

const ENDPOINT = 'phi-analyzer';
// Every PHI field of the P record filled: IDs, name, birth date.
const FULL_P = `P|1|${CANARY_MRN}|${CANARY_MRN}||${CANARY_NAME}||${CANARY_DOB}|F`;
const STREAM = IMMULITE_IVF_STREAM.replace(/^P\|1\|.*$/m, FULL_P);
const QUERY = `H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|20261203101500\rQ|1|${CANARY_MRN}^123ABC||ALL||||||||O\rL|1\r`;

function flow(): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'astm phi' },
    instrumentNode('I1', { instrumentId: ENDPOINT, queryTimeoutMs: '150', connectTimeoutMs: '100' }),
    { id: 'in1', z: 'f1', type: 'astm-in', name: '', instrument: 'I1', wires: [['results'], ['qc'], ['answer'], ['errors']] },
    { id: 'answer', z: 'f1', type: 'test-step', wires: [['out1']] },
    { id: 'out1', z: 'f1', type: 'astm-out', name: '', instrument: 'I1', retries: '0', retryDelayMs: '0', wires: [[]] },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    ...['results', 'qc', 'errors', 'caught'].map((id) => ({ id, z: 'f1', type: 'helper' })),
  ];
}

test('error paths of astm-instrument, astm-in and astm-out carry no canary PHI', async () => {
  const hub: TestHub = await startTestHub();
  await helper.startServer();
  let sim: AnalyzerSimulator | undefined;
  try {
    // The first inbound insert fails with PHI in the error's own message.
    const insert = hub.store.insert.bind(hub.store);
    let failed = false;
    hub.store.insert = async (m: NewMessage) => {
      if (m.direction === 'inbound' && !failed) {
        failed = true;
        throw new StoreError(`constraint failed for ${CANARY_MRN} ${CANARY_NAME}`, true);
      }
      return insert(m);
    };
    // The flow answers late, then with orders full of PHI to a connection that is gone.
    const held: TestMsg[] = [];
    stepBehaviour('answer', (msg, _send, done) => {
      held.push(msg);
      done();
    });
    await helper.load([...astmNodes(), testStepNode], flow(), {});
    const statuses = ['in1', 'out1'].map((id) => new StatusTap(id));
    const errors = new MessageTap('errors');
    const caught = new MessageTap('caught');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });

    // Unmapped code and a unit the mapping does not list, after a failed store commit (NAK, retransmission).
    await play(sim, 'unmapped', STREAM.replace('R|1|^^^LH|', 'R|1|^^^XYZ|').replace('|1843.|pg/mL|', '|1843.|pg/dL|'));
    // A message cut off by a disconnect (reported incomplete), sent again.
    await sim.close();
    sim = await startAnalyzer({ port: node.boundPort()!, faults: [{ kind: 'disconnect', frame: 3 }] });
    await play(sim, 'cut', STREAM.replace('S26-004411', 'S26-004412'));
    // A query the flow answers too late.
    await play(sim, 'query', QUERY);
    await sim.waitForReceived(1, 20_000);
    await eventually(() => held.length === 1, 'the held query');
    flowNode('out1').receive({ ...held[0]!, orders: [{ specimenId: '123ABC', tests: ['E2'], patient: { id: CANARY_MRN, name: { family: CANARY_NAME } } }] });
    // An order download nobody can take.
    await sim.close();
    sim = undefined;
    await eventually(() => node.connectionCount() === 0, 'the analyzer gone');
    flowNode('out1').receive({ orders: [{ specimenId: CANARY_MRN, tests: ['E2'], patient: { id: CANARY_MRN, birthDate: CANARY_DOB } }] });

    const errorMsgs: TestMsg[] = [];
    const codes = new Set<string>();
    while (!['STORE', 'UNMAPPED_TEST', 'UNIT_MISMATCH', 'INCOMPLETE', 'TIMEOUT'].every((c) => codes.has(c))) {
      const m = await errors.next();
      errorMsgs.push(m);
      codes.add((m.error as { code: string }).code);
    }
    const caughtMsgs = [await caught.next(), await caught.next()];
    expect(caughtMsgs.map((m) => (m.error as { code: string }).code).sort()).toEqual(['CONNECT_FAILED', 'TIMEOUT']);

    const records = (await hub.store.search({ endpoint: ENDPOINT, limit: 100 })).items;
    expect(records.some((r) => r.errorText)).toBe(true);
    expect(canariesIn(records.map((r) => [r.errorCode, r.errorText]))).toEqual([]);
    expect(canariesIn(errorMsgs.map((m) => [m.error, m.payload]))).toEqual([]);
    expect(canariesIn(caughtMsgs.map((m) => m.error))).toEqual([]);
    expect(canariesIn(statuses.flatMap((s) => s.all))).toEqual([]);
    expect(hub.logger.lines.length).toBeGreaterThan(0);
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  } finally {
    stepBehaviour('answer', undefined);
    await sim?.close();
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  }
});
