import type { NodeAPI } from 'node-red';
import { CANARY_MRN, canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import {
  coreNodes,
  eventually,
  LINK,
  SWITCH,
  listenerNode,
  msaOf,
  RawMllp,
  startTestHub,
  stepBehaviour,
  testStepNode,
  withHooks,
} from '../../test/support/mllp-harness';
import type { TestHub } from '../../test/support/mllp-harness';
import listenerInit = require('../mllp-listener/mllp-listener');
import type { MllpListenerNode } from '../mllp-listener/types';
import mllpInInit = require('./mllp-in');

helper.init(require.resolve('node-red'));

const nodes = [
  withCatalog(listenerInit, `${__dirname}/../mllp-listener`, 'mllp-listener'),
  withHooks(withCatalog(mllpInInit, __dirname, 'mllp-in')),
  testStepNode,
  ...coreNodes(LINK, SWITCH),
];

function step(id: string, wires: string[][] = []): FlowNode {
  return { id, z: 'f1', type: 'test-step', wires };
}

function flow(listener: Record<string, unknown>, wires: string[][], extra: FlowNode[] = []): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'mllp-in test' },
    listenerNode('L1', listener),
    { id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', wires },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
    ...extra,
  ];
}

describe('mllp-in node', () => {
  let hub: TestHub;
  const clients: RawMllp[] = [];

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    stepBehaviour('step1', undefined);
    stepBehaviour('step2', undefined);
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

  test('emits the stored message with its header fields; the record ends up sent', async () => {
    await helper.load(nodes, flow({}, [['step1']], [step('step1')]), {});
    const seen = new MessageTap('step1');
    // test-step forwards to nothing and completes: the flow is done after it.
    const client = await connect();

    const ack = await client.request(canaryOru('CTRL-100'));
    const msg = await seen.next();

    expect(msaOf(ack)).toEqual({ code: 'AA', controlId: 'CTRL-100' });
    expect(msg).toMatchObject({
      payload: canaryOru('CTRL-100'),
      controlId: 'CTRL-100',
      messageType: 'ORU^R01',
      sender: 'IVFLIS^REPROLAB',
      receiver: 'IVFEMR^REPROCLINIC',
      peer: { address: '127.0.0.1', port: client.socket.localPort },
      _hl7ack: { listener: 'L1', id: msg.hubMessageId },
    });
    expect((msg.hl7 as { segments: unknown[] }).segments).toHaveLength(4);
    const id = msg.hubMessageId as string;
    await eventually(async () => (await hub.store.get(id))?.status === 'sent', 'status sent');
    const record = await hub.store.get(id, { includeBody: true });
    expect(record).toMatchObject({ endpoint: 'test-intake', direction: 'inbound', controlId: 'CTRL-100', messageType: 'ORU^R01', patientKey: hub.store.patientKey(CANARY_MRN) });
    expect(record?.body?.toString('utf8')).toBe(canaryOru('CTRL-100'));
  });

  test('after processing: AA only after every downstream node completed', async () => {
    await helper.load(nodes, flow({ ackMode: 'after-processing' }, [['step1', 'step2']], [step('step1'), step('step2')]), {});
    const held: (() => void)[] = [];
    stepBehaviour('step2', (_msg, _send, done) => held.push(() => done()));
    const client = await connect();

    let answered = false;
    const ack = client.request(canaryOru('CTRL-101')).then((a) => ((answered = true), a));
    await eventually(() => held.length === 1, 'step2 to receive');
    // step1 has completed by now; step2 still holds the msg.
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    held[0]!();

    expect(msaOf(await ack)).toEqual({ code: 'AA', controlId: 'CTRL-101' });
  });

  test('after processing: done(err) downstream answers AE and reaches a Catch node', async () => {
    await helper.load(nodes, flow({ ackMode: 'after-processing' }, [['step1']], [step('step1')]), {});
    const caught = new MessageTap('caught');
    stepBehaviour('step1', (_msg, _send, done) => done(new Error(`cannot map ${CANARY_MRN}`)));
    const client = await connect();

    expect(msaOf(await client.request(canaryOru('CTRL-102')))).toEqual({ code: 'AE', controlId: 'CTRL-102' });
    const failed = await caught.next();
    expect((failed.error as { source: { id: string } }).source.id).toBe('step1');
    const id = failed.hubMessageId as string;
    const record = await hub.store.get(id);
    expect(record).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR' });
    expect(canariesIn(record)).toEqual([]);
  });

  test('after processing: a msg nobody completes times out as AE', async () => {
    await helper.load(nodes, flow({ ackMode: 'after-processing', processingTimeoutMs: '200' }, [['step1']], [step('step1')]), {});
    stepBehaviour('step1', () => undefined);
    const client = await connect();

    expect(msaOf(await client.request(canaryOru('CTRL-103')))).toEqual({ code: 'AE', controlId: 'CTRL-103' });
  });

  test('after processing: the msg is followed through link out / link in', async () => {
    const extra: FlowNode[] = [
      step('step1', [['lo']]),
      // x/y make them flow nodes: without them the runtime treats nodes as config nodes, and two links referring to each other look circular.
      { id: 'lo', z: 'f1', type: 'link out', mode: 'link', links: ['li'], x: 100, y: 100, wires: [] },
      { id: 'li', z: 'f1', type: 'link in', links: ['lo'], x: 100, y: 200, wires: [['step2']] },
      step('step2'),
    ];
    await helper.load(nodes, flow({ ackMode: 'after-processing' }, [['step1']], extra), {});
    const held: (() => void)[] = [];
    stepBehaviour('step2', (msg, send, done) => held.push(() => (send(msg), done())));
    const client = await connect();

    let answered = false;
    const ack = client.request(canaryOru('CTRL-104')).then((a) => ((answered = true), a));
    await eventually(() => held.length === 1, 'the msg to cross the link');
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    held[0]!();

    expect(msaOf(await ack).code).toBe('AA');
  });

  describe('after processing through nodes that never call done() (the core switch node)', () => {
    const routed = (rules: unknown[], outputs: number, wires: string[][]): FlowNode => ({
      id: 'sw', z: 'f1', type: 'switch', name: '', property: 'messageType', propertyType: 'msg', rules, checkall: 'false', repair: false, outputs, x: 0, y: 0, wires,
    });

    test('a msg the switch forwards is followed to the end of its branch', async () => {
      await helper.load(nodes, flow({ ackMode: 'after-processing' }, [['sw']], [routed([{ t: 'eq', v: 'ORU^R01', vt: 'str' }], 1, [['step1']]), step('step1')]), {});
      const held: (() => void)[] = [];
      stepBehaviour('step1', (_msg, _send, done) => held.push(() => done()));
      const client = await connect();

      let answered = false;
      const ack = client.request(canaryOru('CTRL-110')).then((a) => ((answered = true), a));
      await eventually(() => held.length === 1, 'the switch to forward');
      for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(answered).toBe(false);
      held[0]!();
      expect(msaOf(await ack).code).toBe('AA');
    });

    test('a msg the switch drops is complete (AA), not left to time out', async () => {
      await helper.load(nodes, flow({ ackMode: 'after-processing', processingTimeoutMs: '60000' }, [['sw']], [routed([{ t: 'eq', v: 'ADT^A01', vt: 'str' }], 1, [['step1']]), step('step1')]), {});
      const client = await connect();
      expect(msaOf(await client.request(canaryOru('CTRL-111'))).code).toBe('AA');
    });

    test('a burst through one switch: every msg answered once its branch completed', async () => {
      await helper.load(nodes, flow({ ackMode: 'after-processing' }, [['sw']], [routed([{ t: 'else' }], 1, [['step1']]), step('step1')]), {});
      const completed = new Set<string>();
      stepBehaviour('step1', (msg, _send, done) => setImmediate(() => (completed.add(String(msg.controlId)), done())));
      const clients = await Promise.all([connect(), connect(), connect()]);
      const acks = await Promise.all(clients.map((c, i) => c.request(canaryOru(`CTRL-12${i}`)).then((a) => ({ a: msaOf(a), done: completed.has(`CTRL-12${i}`) }))));
      expect(acks.map((x) => x.a.code)).toEqual(['AA', 'AA', 'AA']);
      // The switch queues a msg that arrives while it is busy: its branch must still be waited for.
      expect(acks.map((x) => x.done)).toEqual([true, true, true]);
    });
  });

  test('after processing: an mllp-in with no wires completes at once', async () => {
    await helper.load(nodes, flow({ ackMode: 'after-processing' }, []), {});
    const client = await connect();
    expect(msaOf(await client.request(canaryOru('CTRL-105'))).code).toBe('AA');
  });

  test('several mllp-in nodes on one listener each get every message', async () => {
    const extra: FlowNode[] = [step('step1'), { id: 'in2', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', wires: [['step2']] }, step('step2')];
    await helper.load(nodes, flow({ ackMode: 'after-processing' }, [['step1']], extra), {});
    const a = new MessageTap('step1');
    const b = new MessageTap('step2');
    const client = await connect();

    expect(msaOf(await client.request(canaryOru('CTRL-106'))).code).toBe('AA');
    expect((await a.next()).hubMessageId).toBe((await b.next()).hubMessageId);
  });

  test('status shows the port and open connections, without PHI', async () => {
    await helper.load(nodes, flow({}, [['step1']], [step('step1')]), {});
    const status = new StatusTap('in1');
    const client = await connect();
    const port = (flowNode('L1') as MllpListenerNode).boundPort();

    await status.until((s) => s.text === `listening :${port}, 1 connected`);
    await client.request(canaryOru('CTRL-107'));
    client.close();
    await eventually(() => status.last?.text === `listening :${port}, 0 connected`, 'the disconnect to show');
    expect(status.last).toEqual({ fill: 'green', shape: 'dot', text: `listening :${port}, 0 connected` });
    expect(canariesIn(status.all)).toEqual([]);
  });

  test('removes its hooks on close', async () => {
    await helper.load(nodes, flow({}, []), {});
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const hooks = (require('@node-red/util') as { hooks: NodeAPI['hooks'] }).hooks;
    expect(hooks.has('onComplete.ivfhub_followed')).toBe(true);
    await helper.unload();
    expect(hooks.has('onComplete.ivfhub_followed')).toBe(false);
    expect(hooks.has('preDeliver.ivfhub_followed')).toBe(false);
  });

  test('without a listener it reports a configuration error', async () => {
    await helper.load(nodes, [
      { id: 'f1', type: 'tab', label: 't' },
      { id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'missing', wires: [] },
    ], {});
    const errors = logEvents().filter((e) => (e as { level?: number }).level === 20);
    expect(errors).toEqual([expect.objectContaining({ id: 'in1', msg: 'no MLLP listener is configured for this node' })]);
  });
});

