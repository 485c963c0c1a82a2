import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import { listenerNode, makePki, msaOf, RawMllp, startTestHub, stepBehaviour, steps, testStepNode, withHooks } from '../../test/support/mllp-harness';
import type { TestHub, TestPki } from '../../test/support/mllp-harness';
import mllpInInit = require('../mllp-in/mllp-in');
import listenerInit = require('./mllp-listener');
import type { MllpListenerNode } from './types';

helper.init(require.resolve('node-red'));

const nodes = [withCatalog(listenerInit, __dirname, 'mllp-listener'), withHooks(withCatalog(mllpInInit, `${__dirname}/../mllp-in`, 'mllp-in')), testStepNode];

function flow(listener: Record<string, unknown> = {}, withIn = true): FlowNode[] {
  const out: FlowNode[] = [{ id: 'f1', type: 'tab', label: 'listener test' }, listenerNode('L1', listener)];
  if (withIn) out.push({ id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', x: 0, y: 0, wires: [['s1']] }, { id: 's1', z: 'f1', type: 'test-step', x: 0, y: 0, wires: [] });
  return out;
}

/** Node-RED's numeric level for node.error. */
const LOG_ERROR = 20;

describe('mllp-listener config node', () => {
  let hub: TestHub;
  let pki: TestPki | undefined;
  const clients: RawMllp[] = [];

  beforeEach(async () => {
    hub = await startTestHub();
    await helper.startServer();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await helper.unload();
    await helper.stopServer();
    await hub.close();
    expect(canariesIn(hub.logger.lines)).toEqual([]);
  });

  function listener(): MllpListenerNode {
    return flowNode('L1') as MllpListenerNode;
  }

  test('listens once an mllp-in registers, tracks peers, registers a readiness check, and closes with the flow', async () => {
    await helper.load(nodes, flow({ name: 'lab' }), {});
    await listener().whenListening();
    const port = listener().boundPort()!;
    expect(hub.health.list().map((c) => c.name)).toEqual(['mllp-listener:lab']);
    await expect(hub.health.list()[0]!.check()).resolves.toBeUndefined();

    const client = await RawMllp.open(port);
    clients.push(client);
    expect(msaOf(await client.request(canaryOru('CTRL-200'))).code).toBe('AA');
    expect(listener().connectionCount()).toBe(1);
    expect(listener().peers()).toEqual([{ connectionId: 1, remoteAddress: '127.0.0.1', remotePort: client.socket.localPort, connectedAt: expect.any(Date) }]);
    // The endpoint setting names the stored records.
    expect((await hub.store.search({ endpoint: 'test-intake' })).items).toHaveLength(1);

    await helper.unload();
    expect(hub.health.list()).toEqual([]);
    await client.closed();
    await expect(RawMllp.open(port)).rejects.toThrow(/ECONNREFUSED/);
  });

  test('a config node nobody uses does not listen', async () => {
    await helper.load(nodes, flow({}, false), {});
    expect(listener().boundPort()).toBeUndefined();
    await expect(listener().whenListening()).rejects.toThrow(/not started/);
  });

  test('invalid settings: error logged, mllp-in shows error: CONFIG', async () => {
    await helper.load(nodes, flow({ port: 'abc' }), {});
    const status = new StatusTap('in1');
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: CONFIG' });
    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(errors).toEqual([expect.objectContaining({ id: 'L1', msg: 'MLLP listener settings are invalid: port must be an integer from 0 to 65535' })]);
    // A listener in use that cannot listen keeps the hub from reporting ready, until it is undeployed.
    expect(hub.health.list().map((c) => c.name)).toEqual(['mllp-listener:L1']);
    await expect(hub.health.list()[0]!.check()).rejects.toThrow('MLLP listener mllp-listener:L1 failed (CONFIG)');
    await helper.unload();
    expect(hub.health.list()).toEqual([]);
  });

  test('bad allowedPeers entries are reported as configuration errors', async () => {
    await helper.load(nodes, flow({ allowedPeers: '10.0.0.1, not-an-ip' }), {});
    const status = new StatusTap('in1');
    await status.until((s) => s.fill === 'red');
    expect(status.last?.text).toBe('error: CONFIG');
  });

  test('a port in use: error status with the code, a failing readiness check, no crash', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as AddressInfo).port;
    try {
      await helper.load(nodes, flow({ port: String(busy) }), {});
      const status = new StatusTap('in1');
      await expect(listener().whenListening()).rejects.toThrow(/cannot listen/);
      await status.until((s) => s.fill === 'red');
      expect(status.last?.text).toBe('error: CONNECT_FAILED');
      expect(hub.health.list().map((c) => c.name)).toEqual(['mllp-listener:L1']);
      await expect(hub.health.list()[0]!.check()).rejects.toThrow('MLLP listener mllp-listener:L1 failed (CONNECT_FAILED)');
    } finally {
      blocker.close();
    }
  });

  test('allowedPeers turns away other addresses', async () => {
    await helper.load(nodes, flow({ allowedPeers: '10.9.9.9' }), {});
    await listener().whenListening();
    const client = await RawMllp.open(listener().boundPort()!);
    clients.push(client);
    await client.closed();
    expect(await hub.store.count()).toBe(0);
  });

  test('TLS with key and certificate from the credentials', async () => {
    pki ??= makePki();
    await helper.load(nodes, flow({ tls: true }), { L1: { key: pki.serverKey, cert: pki.serverCert } });
    await listener().whenListening();
    const client = await RawMllp.open(listener().boundPort()!, { ca: pki.ca, servername: 'localhost' });
    clients.push(client);
    expect(msaOf(await client.request(canaryOru('CTRL-201'))).code).toBe('AA');
  });

  test('TLS without a certificate is a configuration error', async () => {
    await helper.load(nodes, flow({ tls: true }), {});
    const status = new StatusTap('in1');
    await status.until((s) => s.fill === 'red');
    expect(status.last?.text).toBe('error: CONFIG');
  });

  test('without hub services the listener reports NO_HUB', async () => {
    await hub.close();
    await helper.load(nodes, flow(), {});
    const status = new StatusTap('in1');
    await status.until((s) => s.fill === 'red');
    expect(status.last?.text).toBe('error: NO_HUB');
    hub = await startTestHub();
  });

  test('a redeploy while a message is mid-flow: once the new flows start, the listener sends it through them again', async () => {
    const inputs: string[] = [];
    const seen = (msg: Record<string, unknown>, nodeId: string): void => void (nodeId === 's1' && inputs.push(String(msg.controlId)));
    steps.on('input', seen);
    try {
      // The first deploy's step never completes the message.
      stepBehaviour('s1', () => undefined);
      await helper.load(nodes, flow(), {});
      await listener().whenListening();
      const client = await RawMllp.open(listener().boundPort()!);
      clients.push(client);
      expect(msaOf(await client.request(canaryOru('CTRL-RD1'))).code).toBe('AA');
      await waitUntil(() => inputs.length === 1);
      client.close();
      await helper.unload();

      stepBehaviour('s1', undefined);
      await helper.load(nodes, flow(), {});
      await waitUntil(() => inputs.length === 2);
      expect(inputs).toEqual(['CTRL-RD1', 'CTRL-RD1']);
      const [record] = (await hub.store.search({ controlId: 'CTRL-RD1' })).items;
      await waitUntil(async () => (await hub.store.get(record!.id))?.status === 'sent');
      expect(await hub.store.get(record!.id)).toMatchObject({ status: 'sent', attempts: 1 });
    } finally {
      steps.off('input', seen);
      stepBehaviour('s1', undefined);
    }
  });

  test('ports may come from the environment (${HUB_MLLP_PORT})', async () => {
    process.env.TEST_MLLP_PORT = '0';
    process.env.TEST_MLLP_BIND = '127.0.0.1';
    try {
      await helper.load(nodes, flow({ port: '${TEST_MLLP_PORT}', host: '${TEST_MLLP_BIND}' }), {});
      await listener().whenListening();
      expect(listener().boundPort()).toBeGreaterThan(0);
    } finally {
      delete process.env.TEST_MLLP_PORT;
      delete process.env.TEST_MLLP_BIND;
    }
  });
});

async function waitUntil(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('condition not met within 4 s');
}
