import { CANARY_MRN } from '../../test/fixtures/canary';
import { astmNodes, instrumentNode, listeningInstrument, outbound, startAnalyzer } from '../../test/support/astm-harness';
import { eventually, startTestHub } from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import type { AnalyzerSimulator } from '../../test/sim/analyzer-simulator';

helper.init(require.resolve('node-red'));

const ENDPOINT = 'test-analyzer';

function flow(instrument: Record<string, unknown> = {}, out: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'astm-out test' },
    instrumentNode('I1', instrument),
    { id: 'out1', z: 'f1', type: 'astm-out', name: '', instrument: 'I1', retries: '0', retryDelayMs: '10', wires: [['sent']], ...out },
    { id: 'sent', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

describe('astm-out node', () => {
  let hub: TestHub;
  let sim: AnalyzerSimulator | undefined;
  const errors: unknown[] = [];

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
    expect(canariesIn(errors.splice(0))).toEqual([]);
  });

  async function failure(msg: Record<string, unknown>): Promise<TestMsg> {
    const caught = new MessageTap('caught');
    flowNode('out1').receive(msg);
    const failed = await caught.next();
    errors.push(failed.error);
    return failed;
  }

  test('without an instrument: error logged and shown', async () => {
    await helper.load(astmNodes(), [{ id: 'f1', type: 'tab', label: 't' }, { id: 'out1', z: 'f1', type: 'astm-out', instrument: '', wires: [] }], {});
    const status = new StatusTap('out1');
    await status.until((s) => s.fill === 'red');
    expect(status.last?.text).toBe('error: CONFIG');
    expect(logEvents()).toContainEqual(expect.objectContaining({ id: 'out1', msg: 'no ASTM instrument is configured for this node' }));
  });

  test('nothing to send: PARSE reaches the Catch node, not retryable, nothing recorded', async () => {
    await helper.load(astmNodes(), flow(), {});
    await listeningInstrument('I1');
    const status = new StatusTap('out1');
    const failed = await failure({ payload: { not: 'astm' } });
    expect(failed.error).toMatchObject({ code: 'PARSE', message: 'IntegrationError: nothing to send: msg.orders is not an array and msg.payload is not E1394 text', source: { id: 'out1' } });
    expect(failed.retryable).toBe(false);
    expect(status.last?.text).toBe('error: PARSE');
    expect(await outbound(hub.store, ENDPOINT)).toEqual([]);
  });

  test('bad orders are refused before anything is recorded; the error names the position, not the value', async () => {
    await helper.load(astmNodes(), flow(), {});
    await listeningInstrument('I1');
    const failed = await failure({ orders: [{ specimenId: 'S1', tests: ['E2'], patient: { id: CANARY_MRN } }, { specimenId: CANARY_MRN, tests: 'E2' }] });
    expect(failed.error).toMatchObject({ code: 'PARSE', message: 'AstmParseError: orders[1].tests must be an array of test codes' });
    expect(await outbound(hub.store, ENDPOINT)).toEqual([]);
  });

  test('a query handle of another instrument, an unknown query, and an answer without orders are refused', async () => {
    await helper.load(astmNodes(), flow(), {});
    await listeningInstrument('I1');
    expect((await failure({ _astmQuery: { instrument: 'elsewhere', id: 'q1', hubMessageId: 'm1' }, orders: [] })).error).toMatchObject({ code: 'CONFIG' });
    expect((await failure({ _astmQuery: { instrument: 'I1', id: 'q-unknown', hubMessageId: 'm1' }, orders: [] })).error).toMatchObject({ code: 'NOT_FOUND' });
    expect((await failure({ _astmQuery: { instrument: 'I1', id: 'q-unknown', hubMessageId: 'm1' } })).error).toMatchObject({
      code: 'PARSE',
      message: 'IntegrationError: a host query answer needs msg.orders (an array; empty answers "no information")',
    });
  });

  test('E1394 text in msg.payload is sent as it is and recorded, related to msg.hubMessageId', async () => {
    await helper.load(astmNodes(), flow(), {});
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await eventually(() => node.connectionCount() === 1, 'the analyzer to connect');
    const sent = new MessageTap('sent');
    const status = new StatusTap('out1');
    const text = 'H|\\^&|||LIS\rP|1\rO|1|S26-7||^^^E2|R||||||N\rL|1|N';
    flowNode('out1').receive({ payload: text, hubMessageId: 'related-1' });

    const out = await sent.next();
    await sim.waitForReceived(1, 20_000);
    expect(sim.received[0]!.text).toBe(`${text}\r`);
    expect(out.astmSent).toMatchObject({ attempts: 1, frames: 4, retransmissions: 0 });
    const [record] = await outbound(hub.store, ENDPOINT);
    expect(record).toMatchObject({ parentId: 'related-1', status: 'sent', attempts: 1, body: Buffer.from(`${text}\r`) });
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: 'sent 1' });
  });

  test('a redeploy while an order download waits for the instrument: the wait ends at close, the record says CONNECT_FAILED', async () => {
    await helper.load(astmNodes(), flow({ connectTimeoutMs: '600000' }, { retries: '5', retryDelayMs: '600000' }), {});
    await listeningInstrument('I1');
    flowNode('out1').receive({ orders: [{ specimenId: 'S26-1', tests: ['E2'] }] });
    await eventually(async () => (await outbound(hub.store, ENDPOINT))[0]?.status === 'processing', 'the download recorded');

    await helper.unload();
    const [record] = await outbound(hub.store, ENDPOINT);
    expect(record).toMatchObject({ status: 'error', errorCode: 'CONNECT_FAILED' });
    expect(logEvents().some((e) => /timed out/i.test(String((e as { msg?: unknown }).msg)))).toBe(false);
  });

  test('a redeploy that lands while the download is still being recorded: it does not wait for the instrument, the record says CONNECT_FAILED', async () => {
    await helper.load(astmNodes(), flow({ connectTimeoutMs: '600000' }, { retries: '5', retryDelayMs: '600000' }), {});
    await listeningInstrument('I1');
    // Hold the insert until the link is closing: the send then reaches the wait for a connection after close() swept the waits.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let inserting = false;
    const insert = hub.store.insert.bind(hub.store);
    hub.store.insert = async (...args: Parameters<typeof insert>) => {
      inserting = true;
      await gate;
      return insert(...args);
    };
    flowNode('out1').receive({ orders: [{ specimenId: 'S26-2', tests: ['E2'] }] });
    await eventually(() => inserting, 'the download being recorded');
    const unloading = helper.unload();
    await new Promise((resolve) => setTimeout(resolve, 100));
    release();
    await unloading;
    const [record] = await outbound(hub.store, ENDPOINT);
    expect(record).toMatchObject({ status: 'error', errorCode: 'CONNECT_FAILED' });
  });
});
