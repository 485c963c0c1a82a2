import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canaryOru } from '../fixtures/canary';
import listenerInit = require('../../nodes/mllp-listener/mllp-listener');
import type { MllpListenerNode } from '../../nodes/mllp-listener/types';
import mllpInInit = require('../../nodes/mllp-in/mllp-in');
import { eventually, listenerNode, makePki, msaOf, RawMllp, startTestHub, testStepNode, withHooks } from '../support/mllp-harness';
import type { TestHub, TestPki } from '../support/mllp-harness';
import { canariesIn, flowNode, helper, withCatalog } from '../support/node-red-helper';
import type { FlowNode } from '../support/node-red-helper';

/**
 * Acceptance (c): a TLS listener, and mutual TLS, with a CA, server and
 * client certificates generated for this run (openssl CLI).
 */
const ROOT = join(__dirname, '..', '..');

helper.init(require.resolve('node-red'));

const nodes = [withCatalog(listenerInit, join(ROOT, 'nodes', 'mllp-listener'), 'mllp-listener'), withHooks(withCatalog(mllpInInit, join(ROOT, 'nodes', 'mllp-in'), 'mllp-in')), testStepNode];

function flow(listener: Record<string, unknown>): FlowNode[] {
  return [
    { id: 'f1', type: 'tab', label: 'tls' },
    listenerNode('L1', { tls: true, ...listener }),
    { id: 'in1', z: 'f1', type: 'mllp-in', name: '', listener: 'L1', x: 0, y: 0, wires: [['sink']] },
    { id: 'sink', z: 'f1', type: 'test-step', x: 0, y: 0, wires: [] },
  ];
}

describe('MLLP over TLS', () => {
  let hub: TestHub;
  let pki: TestPki;
  const clients: RawMllp[] = [];

  beforeAll(() => {
    pki = makePki();
  });

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

  async function port(): Promise<number> {
    const listener = flowNode('L1') as MllpListenerNode;
    await listener.whenListening();
    return listener.boundPort()!;
  }

  async function open(p: number, options: Parameters<typeof RawMllp.open>[1]): Promise<RawMllp> {
    const c = await RawMllp.open(p, { servername: 'localhost', ...options });
    clients.push(c);
    return c;
  }

  test('TLS: a client that trusts the CA is served; the body is stored as sent', async () => {
    await helper.load(nodes, flow({}), { L1: { key: pki.serverKey, cert: pki.serverCert } });
    const c = await open(await port(), { ca: pki.ca });

    expect(msaOf(await c.request(canaryOru('TLS-1')))).toEqual({ code: 'AA', controlId: 'TLS-1' });
    const { items } = await hub.store.search({ controlId: 'TLS-1' });
    expect((await hub.store.get(items[0]!.id, { includeBody: true }))?.body?.toString('utf8')).toBe(canaryOru('TLS-1'));
  });

  test('TLS: a client that does not trust the server certificate cannot connect', async () => {
    await helper.load(nodes, flow({}), { L1: { key: pki.serverKey, cert: pki.serverCert } });
    await expect(RawMllp.open(await port(), { servername: 'localhost' })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  describe('mutual TLS', () => {
    const mutual = (): { settings: Record<string, unknown>; creds: Record<string, unknown> } => ({
      settings: { requireClientCert: true },
      creds: { L1: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca } },
    });

    test('a client certificate signed by the CA is served', async () => {
      const { settings, creds } = mutual();
      await helper.load(nodes, flow(settings), creds);
      const c = await open(await port(), { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert });
      expect(msaOf(await c.request(canaryOru('MTLS-1')))).toEqual({ code: 'AA', controlId: 'MTLS-1' });
    });

    test('no client certificate, or one from another CA: refused, nothing stored', async () => {
      const { settings, creds } = mutual();
      await helper.load(nodes, flow(settings), creds);
      const p = await port();

      for (const identity of [{}, { key: pki.strangerKey, cert: pki.strangerCert }]) {
        // TLS 1.3 finishes the client's side of the handshake before the server checks the certificate:
        // the refusal shows as the connection closing (or a failed connect under TLS 1.2).
        const attempt = RawMllp.open(p, { servername: 'localhost', ca: pki.ca, ...identity }).then(
          async (c) => {
            clients.push(c);
            c.send(canaryOru('MTLS-X'));
            await c.closed();
            return 'closed';
          },
          () => 'refused',
        );
        expect(['closed', 'refused']).toContain(await attempt);
      }
      expect(await hub.store.count()).toBe(0);
      await eventually(() => hub.logger.lines.some((l) => l.message === 'mllp connection refused' && l.meta?.reason === 'tls-handshake'), 'the refusal to be logged');
    });

    test('key, certificate and CA from files', async () => {
      const files = { keyFile: join(pki.dir, 'server.key'), certFile: join(pki.dir, 'server.pem'), caFile: join(pki.dir, 'test-ca.pem') };
      writeFileSync(files.caFile, pki.ca);
      await helper.load(nodes, flow({ requireClientCert: true, ...files }), {});
      const c = await open(await port(), { ca: pki.ca, key: pki.clientKey, cert: pki.clientCert });
      expect(msaOf(await c.request(canaryOru('MTLS-2'))).code).toBe('AA');
    });
  });
});
