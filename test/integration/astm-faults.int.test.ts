import { COBAS_IVF_STREAM } from '../../adapters/astm/fixtures/ivf-streams';
import { StoreError } from '../../adapters/store';
import type { NewMessage } from '../../adapters/store';
import type { AstmDeliveryError } from '../../nodes/astm-instrument/types';
import type { AnalyzerSimulator, PlayResult } from '../sim/analyzer-simulator';
import type { Fault } from '../sim/faults';
import { astmNodes, inbound, instrumentNode, listeningInstrument, play, startAnalyzer } from '../support/astm-harness';
import { eventually, startTestHub } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { canariesIn, helper, logEvents, MessageTap, StatusTap } from '../support/node-red-helper';
import type { FlowNode, TestMsg } from '../support/node-red-helper';

/**
 * Fault injection through the simulated analyzer against the nodes over
 * loopback: whatever goes wrong on the line, the message is stored exactly
 * once (counted by endpoint) and its results are emitted once, or the loss
 * is reported on the error output; never duplicated.
 */

helper.init(require.resolve('node-red'));

const ENDPOINT = 'cobas-faults';

function flow(instrument: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'astm faults' },
    instrumentNode('I1', { instrumentId: ENDPOINT, profile: 'cobas-e411', ...instrument }),
    { id: 'in1', z: 'f1', type: 'astm-in', name: '', instrument: 'I1', wires: [['results'], ['qc'], ['queries'], ['errors']] },
    { id: 'results', z: 'f1', type: 'helper' },
    { id: 'qc', z: 'f1', type: 'helper' },
    { id: 'queries', z: 'f1', type: 'helper' },
    { id: 'errors', z: 'f1', type: 'helper' },
  ];
}

describe('ASTM fault injection: stored exactly once or reported', () => {
  let hub: TestHub;
  let sim: AnalyzerSimulator | undefined;
  const reported: unknown[] = [];
  let statuses: StatusTap | undefined;

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
    expect(canariesIn(statuses?.all ?? [])).toEqual([]);
    expect(canariesIn(reported.splice(0))).toEqual([]);
  });

  async function run(faults: Fault[]): Promise<{ play: PlayResult; results: MessageTap; errors: MessageTap }> {
    await helper.load(astmNodes(), flow(), {});
    statuses = new StatusTap('in1');
    const results = new MessageTap('results');
    const errors = new MessageTap('errors');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()!, faults });
    return { play: await play(sim, 'cobas-ivf', COBAS_IVF_STREAM), results, errors };
  }

  /** Exactly one stored record, with the bytes sent, whose results were emitted once. */
  async function storedOnce(results: MessageTap): Promise<void> {
    const stored = await inbound(hub.store, ENDPOINT);
    expect(stored.map((r) => r.body!.toString('utf8'))).toEqual([COBAS_IVF_STREAM]);
    const first = await results.next();
    expect(first.hubMessageId).toBe(stored[0]!.id);
    await eventually(async () => (await hub.store.get(stored[0]!.id))?.status === 'sent', 'status sent');
    // Processing is sequential: a second delivery would have been emitted before this status was written.
    await new Promise((resolve) => setImmediate(resolve));
    expect(results.pending).toBe(0);
    expect(await hub.store.count({ endpoint: ENDPOINT, direction: 'inbound' })).toBe(1);
  }

  async function reportedIncomplete(errors: MessageTap, reason: string): Promise<void> {
    const msg: TestMsg = await errors.next();
    expect(msg.error).toMatchObject({ code: 'INCOMPLETE', reason } satisfies Partial<AstmDeliveryError>);
    reported.push(msg);
  }

  test('bad checksum: the hub NAKs, the analyzer retransmits the frame; stored once', async () => {
    const { play: p, results, errors } = await run([{ kind: 'bad-checksum', frame: 2 }]);
    expect(p).toMatchObject({ attempts: 1, faultsFired: ['bad-checksum@2'], report: { retransmissions: 1 } });
    await storedOnce(results);
    expect(errors.pending).toBe(0);
  });

  test('bad checksum six times: the analyzer gives up, the partial message is reported, the re-send is stored once', async () => {
    const { play: p, results, errors } = await run([{ kind: 'bad-checksum', frame: 2, times: 6 }]);
    expect(p.attempts).toBe(2);
    await reportedIncomplete(errors, 'no-terminator');
    await storedOnce(results);
  });

  test('dropped ACK of the last frame: the hub has the message already; the re-send is acknowledged, not stored or emitted again', async () => {
    const { play: p, results, errors } = await run([{ kind: 'drop-ack', frame: 'last' }]);
    expect(p.errors).toEqual([{ name: 'AstmTimeoutError', code: 'TIMEOUT' }]);
    expect(p.attempts).toBe(2);
    await storedOnce(results);
    expect(errors.pending).toBe(0);
  });

  test('dropped ACK mid-message: the analyzer aborts, the partial message is reported, the re-send is stored once', async () => {
    const { play: p, results, errors } = await run([{ kind: 'drop-ack', frame: 3 }]);
    expect(p.attempts).toBe(2);
    await reportedIncomplete(errors, 'no-terminator');
    await storedOnce(results);
  });

  test('disconnect mid-message: the partial message is reported; the analyzer reconnects and the re-send is stored once', async () => {
    const { play: p, results, errors } = await run([{ kind: 'disconnect', frame: 4 }]);
    expect(p.errors).toEqual([{ name: 'AstmClosedError', code: 'CONNECT_FAILED' }]);
    await reportedIncomplete(errors, 'disconnected');
    await storedOnce(results);
  });

  test('the store fails: the last frame is NAKed (no ACK before a commit), the analyzer retransmits, stored once', async () => {
    const insert = hub.store.insert.bind(hub.store);
    let failures = 0;
    hub.store.insert = async (m: NewMessage) => {
      if (m.direction === 'inbound' && failures === 0) {
        failures++;
        throw new StoreError(`disk full while writing ${String(m.patientId)}`, true);
      }
      return insert(m);
    };
    const { play: p, results, errors } = await run([]);
    expect(failures).toBe(1);
    expect(p).toMatchObject({ attempts: 1, report: { retransmissions: 1 } });
    const problem = await errors.next();
    expect(problem.error).toMatchObject({ code: 'STORE' });
    reported.push(problem);
    await storedOnce(results);
  });

  test('the same message after a redeploy (in-memory duplicate window gone): the store recognises it, stored once', async () => {
    const { results } = await run([]);
    await storedOnce(results);
    await sim!.close();
    await helper.unload();

    await helper.load(astmNodes(), flow(), {});
    const again = new MessageTap('results');
    const node = await listeningInstrument('I1');
    sim = await startAnalyzer({ port: node.boundPort()! });
    await play(sim, 'cobas-ivf-again', COBAS_IVF_STREAM);
    expect(await hub.store.count({ endpoint: ENDPOINT, direction: 'inbound' })).toBe(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(again.pending).toBe(0);
    expect(hub.logger.lines.some((l) => l.message === 'astm message stored earlier; acknowledged, not stored again')).toBe(true);
  });
});
