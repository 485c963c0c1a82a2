import { join } from 'node:path';
import type { NodeStatus } from 'node-red';
import { CANARY_MRN, canaryOru } from '../fixtures/canary';
import hl7AckInit = require('../../nodes/hl7-ack/hl7-ack');
import listenerInit = require('../../nodes/mllp-listener/mllp-listener');
import type { MllpListenerNode } from '../../nodes/mllp-listener/types';
import mllpInInit = require('../../nodes/mllp-in/mllp-in');
import { listenerNode, RawMllp, startTestHub, stepBehaviour, testStepNode, withHooks } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../support/node-red-helper';
import type { FlowNode, TestMsg } from '../support/node-red-helper';

/**
 * Acceptance (e): canary PHI goes through every path the intake has (accept,
 * flow error, timeout, malformed, duplicate, batch, store failure, manual
 * answers, late answers) and must not show up in the hub log, Node-RED's log,
 * any node status, any error our nodes raise, the ACKs' texts or the stored
 * metadata.
 */
const ROOT = join(__dirname, '..', '..');

helper.init(require.resolve('node-red'));

const nodes = [
  withCatalog(listenerInit, join(ROOT, 'nodes', 'mllp-listener'), 'mllp-listener'),
  withHooks(withCatalog(mllpInInit, join(ROOT, 'nodes', 'mllp-in'), 'mllp-in')),
  withCatalog(hl7AckInit, join(ROOT, 'nodes', 'hl7-ack'), 'hl7-ack'),
  testStepNode,
];

const truncated = (id: string): string => canaryOru(id).replace(/\r$/, '').slice(0, -3);
const batchOf = (ids: string[]): string =>
  `BHS|^~\\&|IVFLIS|REPROLAB|IVFEMR|REPROCLINIC|20261204||||BATCH-${ids[0]}\r${ids.map((id) => canaryOru(id)).join('')}BTS|${ids.length}\r`;

describe('no canary PHI leaves the intake', () => {
  let hub: TestHub;
  const statuses: StatusTap[] = [];
  const clients: RawMllp[] = [];
  const responses: string[] = [];

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    stepBehaviour('work', undefined);
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    statuses.length = 0;
    responses.length = 0;
  });

  function flow(listener: Record<string, unknown>, ack: boolean): FlowNode[] {
    return [
      { id: 'f1', type: 'tab', label: 'phi' },
      listenerNode('L1', listener),
      { id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', x: 0, y: 0, wires: [['work']] },
      { id: 'work', z: 'f1', type: 'test-step', x: 0, y: 0, wires: ack ? [['ack']] : [] },
      ...(ack ? [{ id: 'ack', z: 'f1', type: 'hl7-ack', name: '', ackCode: 'msg', errorCode: '', errorText: '', x: 0, y: 0, wires: [] }] : []),
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, x: 0, y: 0, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper', x: 0, y: 0 },
    ];
  }

  async function client(): Promise<RawMllp> {
    const listener = flowNode('L1') as MllpListenerNode;
    await listener.whenListening();
    const c = await RawMllp.open(listener.boundPort()!);
    clients.push(c);
    return c;
  }

  async function ask(c: RawMllp, payload: string): Promise<string> {
    const text = (await c.request(payload)).toString('latin1');
    responses.push(text);
    return text;
  }

  /** Everything the hub produced besides the message bodies themselves. */
  async function assertNoCanaries(caughtErrors: unknown[]): Promise<void> {
    const all: NodeStatus[] = statuses.flatMap((s) => s.all);
    const metadata = (await hub.store.search({ limit: 500 })).items;
    expect(metadata.length).toBeGreaterThan(0);
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
    expect(canariesIn(all)).toEqual([]);
    expect(canariesIn(caughtErrors)).toEqual([]);
    expect(canariesIn(metadata)).toEqual([]);
    // ACKs carry MSH/MSA/ERR only: header fields of the original, never its PID.
    expect(canariesIn(responses)).toEqual([]);
  }

  test('after processing: success, flow error, timeout, malformed, duplicate, batch and store failure', async () => {
    await helper.load(nodes, flow({ ackMode: 'after-processing', duplicateWindowMs: '60000', processingTimeoutMs: '300' }, false), {});
    for (const id of ['L1', 'in1', 'work']) statuses.push(new StatusTap(id));
    const caught = new MessageTap('caught');
    stepBehaviour('work', (msg, send, done) => {
      const id = String(msg.controlId);
      // A flow error whose own text quotes the MRN: the hub must not copy that text anywhere.
      if (id.startsWith('FAIL')) done(new Error(`no mapping for ${CANARY_MRN}`));
      else if (id.startsWith('HANG')) return;
      else {
        send(msg);
        done();
      }
    });
    const c = await client();

    expect(await ask(c, canaryOru('OK-1'))).toContain('MSA|AA|OK-1');
    expect(await ask(c, canaryOru('OK-1'))).toContain('MSA|AA|OK-1');
    expect(await ask(c, canaryOru('FAIL-1'))).toContain('MSA|AE|FAIL-1');
    expect(await ask(c, canaryOru('HANG-1'))).toContain('MSA|AE|HANG-1');
    expect(await ask(c, truncated('BAD-1'))).toContain('MSA|AR|BAD-1');
    expect(await ask(c, `${canaryOru('TWO-1')}${canaryOru('TWO-2')}`)).toContain('MSA|AR|TWO-1');
    expect(await ask(c, batchOf(['B-1', 'FAIL-2']))).toMatch(/MSA\|AA\|B-1\r.*MSA\|AE\|FAIL-2/s);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ source: { id: 'work' } });

    const records = (await hub.store.search({ controlId: 'FAIL-1' })).items;
    expect(records[0]).toMatchObject({ status: 'error', errorCode: 'FLOW_ERROR' });

    await hub.store.close();
    expect(await ask(c, canaryOru('DOWN-1'))).toContain('MSA|AE|DOWN-1');
    expect(await ask(c, truncated('DOWN-2'))).toContain('MSA|AE|DOWN-2');
    expect(hub.logger.lines.filter((l) => l.level === 'error').length).toBeGreaterThan(0);

    // The store is closed now; the next test checks the stored metadata of the same paths.
    await assertNoCanaryLogsOnly();
  });

  async function assertNoCanaryLogsOnly(): Promise<void> {
    expect(canariesIn(hub.logger.lines)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
    expect(canariesIn(statuses.flatMap((s) => s.all))).toEqual([]);
    expect(canariesIn(responses)).toEqual([]);
  }

  test('metadata of every record written on those paths is free of PHI', async () => {
    await helper.load(nodes, flow({ ackMode: 'after-processing', duplicateWindowMs: '60000', processingTimeoutMs: '300' }, false), {});
    for (const id of ['L1', 'in1', 'work']) statuses.push(new StatusTap(id));
    stepBehaviour('work', (msg, send, done) => (String(msg.controlId).startsWith('FAIL') ? done(new Error(`no mapping for ${CANARY_MRN}`)) : (send(msg), done())));
    const c = await client();

    await ask(c, canaryOru('OK-2'));
    await ask(c, canaryOru('OK-2'));
    await ask(c, canaryOru('FAIL-3'));
    await ask(c, truncated('BAD-2'));
    await ask(c, batchOf(['B-2', 'B-3']));

    expect(await hub.store.count()).toBe(7);
    await assertNoCanaries([]);
  });

  test('manual mode: answers, bad answers and late answers', async () => {
    await helper.load(nodes, flow({ ackMode: 'manual', processingTimeoutMs: '200' }, true), {});
    for (const id of ['L1', 'in1', 'work', 'ack']) statuses.push(new StatusTap(id));
    const caught = new MessageTap('caught');
    const held: (() => void)[] = [];
    stepBehaviour('work', (msg, send, done) => {
      const id = String(msg.controlId);
      msg.ackCode = id.startsWith('REJ') ? 'AR' : id.startsWith('WEIRD') ? CANARY_MRN : 'AA';
      if (id.startsWith('LATE')) held.push(() => (send(msg), done()));
      else {
        send(msg);
        done();
      }
    });
    const c = await client();

    expect(await ask(c, canaryOru('M-1'))).toContain('MSA|AA|M-1');
    expect(await ask(c, canaryOru('REJ-1'))).toContain('MSA|AR|REJ-1');
    c.send(canaryOru('WEIRD-1'));
    const weird = await caught.next();
    responses.push((await c.next()).toString('latin1'));
    expect(await ask(c, canaryOru('LATE-1'))).toContain('MSA|AE|LATE-1');
    held.forEach((release) => release());
    const late = await caught.next();

    await assertNoCanaries([weird.error, late.error] as TestMsg[]);
  });
});
