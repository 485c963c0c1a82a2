import { IMMULITE_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { canariesIn, helper, logEvents, MessageTap, StatusTap } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import { astmNodes, inbound, instrumentNode, listeningInstrument, outbound, play, startAnalyzer } from '../../test/support/astm-harness';
import { eventually, startTestHub } from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import type { AnalyzerSimulator } from '../../test/sim/analyzer-simulator';
import { RECOVER_AFTER_MS } from '../astm-instrument/analyzer-link';

helper.init(require.resolve('node-red'));

const ENDPOINT = 'test-analyzer';
const QUERY = 'H|\\^&||PASSWORD|DPC||||SYSTEM||P|1|20261203101500\rQ|1|^123ABC||ALL||||||||O\rL|1\r';

function flow(nodes: FlowNode[], instrument: Record<string, unknown> = {}): FlowNode[] {
  return [{ id: 'f1', type: 'tab', label: 'astm-in test' }, instrumentNode('I1', instrument), ...nodes];
}

const astmIn: FlowNode = { id: 'in1', z: 'f1', type: 'astm-in', name: '', instrument: 'I1', wires: [['results'], ['qc'], ['queries'], ['errors']] };
const taps: FlowNode[] = ['results', 'qc', 'queries', 'errors'].map((id) => ({ id, z: 'f1', type: 'helper' }));

describe('astm-in node', () => {
  let hub: TestHub;
  let sim: AnalyzerSimulator | undefined;

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
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('without an instrument: error logged and shown, nothing starts', async () => {
    await helper.load(astmNodes(), [{ id: 'f1', type: 'tab', label: 't' }, { ...astmIn, instrument: '' }], {});
    const status = new StatusTap('in1');
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: CONFIG' });
    expect(logEvents()).toContainEqual(expect.objectContaining({ id: 'in1', msg: 'no ASTM instrument is configured for this node' }));
  });

  test('a message with nothing to hand on (header and terminator only) is stored as filtered and not emitted', async () => {
    await helper.load(astmNodes(), flow([astmIn, ...taps]), {});
    const results = new MessageTap('results');
    const errors = new MessageTap('errors');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await play(sim, 'empty', 'H|\\^&|||DPC\rL|1|N\r');
    await eventually(async () => (await inbound(hub.store, ENDPOINT))[0]?.status === 'filtered', 'status filtered');
    expect([results.pending, errors.pending]).toEqual([0, 0]);
  });

  test('only an astm-out uses the instrument: messages are stored as error NO_CONSUMER, queries answered "no information" at once', async () => {
    await helper.load(astmNodes(), flow([{ id: 'out1', z: 'f1', type: 'astm-out', name: '', instrument: 'I1', retries: '0', retryDelayMs: '0', wires: [] }]), {});
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await play(sim, 'results', IMMULITE_IVF_STREAM);
    await play(sim, 'query', QUERY);
    await sim.waitForReceived(1, 20_000);
    expect(sim.received[0]!.message.records.map((r) => r.type).join('')).toBe('HL');

    await eventually(async () => (await inbound(hub.store, ENDPOINT)).every((r) => r.status === 'error'), 'both records error');
    const records = await inbound(hub.store, ENDPOINT);
    expect(records.map((r) => [r.status, r.errorCode])).toEqual([
      ['error', 'NO_CONSUMER'],
      ['error', 'NO_CONSUMER'],
    ]);
    await eventually(async () => (await outbound(hub.store, ENDPOINT))[0]?.status === 'sent', 'answer sent');
    expect((await outbound(hub.store, ENDPOINT))[0]!.parentId).toBe(records[1]!.id);
  });

  test('a query withdrawn by the instrument (Q.13 = A) is not emitted; its earlier query is dropped without an answer', async () => {
    await helper.load(astmNodes(), flow([astmIn, ...taps]), {});
    const queries = new MessageTap('queries');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await play(sim, 'query', QUERY);
    const asked = await queries.next();
    await play(sim, 'cancel', QUERY.replace('ALL||||||||O', 'ALL||||||||A'));

    const [first, second] = await inbound(hub.store, ENDPOINT);
    expect(asked.hubMessageId).toBe(first!.id);
    await eventually(async () => (await hub.store.get(first!.id))?.errorCode === 'CANCELLED', 'first query cancelled');
    await eventually(async () => (await hub.store.get(second!.id))?.status === 'filtered', 'cancel message filtered');
    expect(queries.pending).toBe(0);
    expect(await outbound(hub.store, ENDPOINT)).toEqual([]);
    expect(sim.received).toEqual([]);
  });

  test('reprocess: a stored message runs through mapping and the flow again, same record, one attempt more; nothing goes to the instrument', async () => {
    await helper.load(astmNodes(), flow([astmIn, ...taps]), {});
    const results = new MessageTap('results');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await play(sim, 'clean', IMMULITE_IVF_STREAM);
    const first = await results.next();
    await eventually(async () => (await inbound(hub.store, ENDPOINT))[0]?.status === 'sent', 'status sent');
    const [stored] = await inbound(hub.store, ENDPOINT);
    const record = await hub.store.get(stored!.id, { includeBody: true });
    const sentToInstrument = sim.received.length;

    await hub.reprocessors.get('I1')!({ ...record!, body: record!.body! });
    const again = await results.next();
    expect(again.hubMessageId).toBe(first.hubMessageId);
    expect(again.observations).toEqual(first.observations);
    await eventually(async () => (await hub.store.get(stored!.id))?.attempts === 1 && (await hub.store.get(stored!.id))?.status === 'sent', 'sent again, one attempt more');
    expect((await inbound(hub.store, ENDPOINT)).length).toBe(1);
    expect(sim.received.length).toBe(sentToInstrument);
    // Another instrument's record, or an outbound one, is refused.
    await expect(hub.reprocessors.get('I1')!({ ...record!, body: record!.body!, endpoint: 'other' })).rejects.toMatchObject({ code: 'CONFIG' });
  });

  test('a message a crashed run stored and acknowledged and never processed goes through the flow once the deploy has started', async () => {
    const left = await hub.store.insert({ direction: 'inbound', endpoint: ENDPOINT, controlId: 'LEFTOVER', messageType: 'ASTM', status: 'received', contentType: 'application/astm', body: IMMULITE_IVF_STREAM });
    hub.age(left.id, RECOVER_AFTER_MS + 1000);
    await helper.load(astmNodes(), flow([astmIn, ...taps]), {});
    const results = new MessageTap('results');
    const got = await results.next();
    expect(got.hubMessageId).toBe(left.id);
    await eventually(async () => (await hub.store.get(left.id))?.status === 'sent', 'status sent');
    expect((await hub.store.get(left.id))?.attempts).toBe(1);
  });

  test('after an error the status shows the code; the next clean message restores the connection status', async () => {
    await helper.load(astmNodes(), flow([astmIn, ...taps]), {});
    const status = new StatusTap('in1');
    const results = new MessageTap('results');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await play(sim, 'unmapped', IMMULITE_IVF_STREAM.replaceAll('^^^LH|', '^^^XYZ|'));
    await status.until((s) => s.text === 'error: UNMAPPED_TEST');
    await results.next();
    await play(sim, 'clean', IMMULITE_IVF_STREAM);
    await results.next();
    await eventually(() => status.last?.fill === 'green', 'connection status again');
    expect(status.last?.text).toMatch(/^listening :\d+, 1 connected$/);
    expect(canariesIn(status.all)).toEqual([]);
  });
});
