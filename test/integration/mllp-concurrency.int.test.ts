import { join } from 'node:path';
import { canaryOru } from '../fixtures/canary';
import listenerInit = require('../../nodes/mllp-listener/mllp-listener');
import type { MllpListenerNode } from '../../nodes/mllp-listener/types';
import mllpInInit = require('../../nodes/mllp-in/mllp-in');
import { eventually, listenerNode, msaOf, RawMllp, startTestHub, steps, stepBehaviour, testStepNode, withHooks } from '../support/mllp-harness';
import type { TestHub } from '../support/mllp-harness';
import { flowNode, helper, withCatalog } from '../support/node-red-helper';
import type { TestMsg } from '../support/node-red-helper';

/**
 * Acceptance (d): more than 200 connections at once, each sending a run of
 * messages and waiting for each ACK, as interface engines do. Per-connection
 * order must hold in the answers, in what the flow sees and in the store.
 */
const ROOT = join(__dirname, '..', '..');
const CONNECTIONS = 220;
const PER_CONNECTION = 5;

helper.init(require.resolve('node-red'));

const nodes = [withCatalog(listenerInit, join(ROOT, 'nodes', 'mllp-listener'), 'mllp-listener'), withHooks(withCatalog(mllpInInit, join(ROOT, 'nodes', 'mllp-in'), 'mllp-in')), testStepNode];

describe('MLLP listener under many concurrent connections', () => {
  let hub: TestHub;

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    stepBehaviour('work', undefined);
    steps.removeAllListeners('input');
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  });

  test.each(['after-commit', 'after-processing'])(`${CONNECTIONS} connections x ${PER_CONNECTION} messages (%s): every message answered, in order per connection`, async (ackMode) => {
    await helper.load(
      nodes,
      [
        { id: 'f1', type: 'tab', label: 'concurrency' },
        listenerNode('L1', { ackMode, endpoint: 'many' }),
        { id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', x: 0, y: 0, wires: [['work']] },
        { id: 'work', z: 'f1', type: 'test-step', x: 0, y: 0, wires: [] },
      ],
      {},
    );
    // The flow completes each msg a little later, out of arrival order across connections.
    stepBehaviour('work', (msg, send, done) => {
      setTimeout(() => (send(msg), done()), Number(String(msg.controlId).slice(-1)) % 3);
    });
    const seen = new Map<number, string[]>();
    steps.on('input', (msg: TestMsg, nodeId: string) => {
      if (nodeId !== 'work') return;
      const port = (msg.peer as { port: number }).port;
      seen.set(port, [...(seen.get(port) ?? []), String(msg.controlId)]);
    });
    const listener = flowNode('L1') as MllpListenerNode;
    await listener.whenListening();
    const port = listener.boundPort()!;

    const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => RawMllp.open(port)));
    try {
      await eventually(() => listener.connectionCount() === CONNECTIONS, 'every connection to be accepted');
      expect(listener.peers()).toHaveLength(CONNECTIONS);

      const answered = await Promise.all(
        clients.map(async (client, c) => {
          const acks: string[] = [];
          for (let i = 0; i < PER_CONNECTION; i++) {
            const ack = msaOf(await client.request(canaryOru(`C${c}-${i}`)));
            acks.push(`${ack.code}:${ack.controlId}`);
          }
          return acks;
        }),
      );

      await eventually(() => [...seen.values()].reduce((n, l) => n + l.length, 0) === CONNECTIONS * PER_CONNECTION, 'every msg to reach the flow');
      for (const [c, acks] of answered.entries()) {
        const expected = Array.from({ length: PER_CONNECTION }, (_, i) => `C${c}-${i}`);
        expect(acks).toEqual(expected.map((id) => `AA:${id}`));
        expect(seen.get(clients[c]!.socket.localPort!)).toEqual(expected);
      }
      expect(await hub.store.count({ endpoint: 'many' })).toBe(CONNECTIONS * PER_CONNECTION);
      if (ackMode === 'after-processing') expect(await hub.store.count({ endpoint: 'many', status: 'sent' })).toBe(CONNECTIONS * PER_CONNECTION);
    } finally {
      for (const c of clients) c.close();
    }
  }, 120_000);
});
