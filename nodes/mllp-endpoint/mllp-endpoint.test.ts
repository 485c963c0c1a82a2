import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clearHubServices } from '../../adapters/shared/registry';
import { ScriptedHl7Peer } from '../../adapters/hl7-send/testing/scripted-hl7-peer';
import { canaryOru } from '../../test/fixtures/canary';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { selfSignedCert } from '../../test/support/self-signed';
import mllpOutInit = require('../mllp-out/mllp-out');
import endpointInit = require('./mllp-endpoint');
import { pemText } from './pem-text';

helper.init(require.resolve('node-red'));

const endpointNode = withCatalog(endpointInit, __dirname, 'mllp-endpoint');
const mllpOutNode = withCatalog(mllpOutInit, join(__dirname, '..', 'mllp-out'), 'mllp-out');

const LOG_ERROR = 20;

function endpointDef(port: number, settings: Record<string, unknown> = {}): FlowNode {
  return {
    id: 'ep1',
    type: 'mllp-endpoint',
    name: '',
    host: '127.0.0.1',
    port: String(port),
    tls: false,
    servername: '',
    verifyServer: true,
    connections: '1',
    ackTimeout: '5000',
    reconnectMin: '50',
    reconnectMax: '100',
    aeRetryable: false,
    ...settings,
  };
}

function flow(endpoint: FlowNode, users = ['n1']): FlowNode[] {
  return [
    { id: 'f1', type: 'tab' },
    endpoint,
    ...users.map((id) => ({ id, z: 'f1', type: 'mllp-out', endpoint: 'ep1', timeout: '', ordering: 'none', orderingProperty: '', record: false, wires: [['out']] })),
    { id: 'out', z: 'f1', type: 'helper' },
    { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', z: 'f1', type: 'helper' },
  ];
}

describe('mllp-endpoint config node', () => {
  let peer: ScriptedHl7Peer | undefined;

  beforeEach(async () => {
    clearHubServices();
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await peer?.close();
    peer = undefined;
  });

  test('pushes the connection state to every node that uses it', async () => {
    peer = await ScriptedHl7Peer.start();
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(peer.port), ['n1', 'n2']));
    const s1 = new StatusTap('n1');
    const s2 = new StatusTap('n2');

    await s1.until((s) => s.text === 'connected');
    await s2.until((s) => s.text === 'connected');
    expect(s1.last).toEqual({ fill: 'green', shape: 'dot', text: 'connected' });
    await peer.accepted(1);
    expect(peer.connectionsAccepted).toBe(1);
  });

  test('with several connections the status counts them', async () => {
    peer = await ScriptedHl7Peer.start();
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(peer.port, { connections: '3' })));
    const status = new StatusTap('n1');
    await status.until((s) => s.text === 'connected 3/3');
    await peer.accepted(3);
    expect(peer.connectionsAccepted).toBe(3);
  });

  test('reports disconnected with the socket error code when the receiver goes away', async () => {
    peer = await ScriptedHl7Peer.start();
    const port = peer.port;
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(port)));
    const status = new StatusTap('n1');
    await status.until((s) => s.text === 'connected');
    await peer.close();
    peer = undefined;

    const down = await status.until((s) => s.fill === 'red');
    expect(down.shape).toBe('ring');
    expect(down.text).toMatch(/^disconnected(: ECONNREFUSED)?$/);
    await status.until((s) => s.text === 'disconnected: ECONNREFUSED');
  });

  test('the connections close with the flow', async () => {
    peer = await ScriptedHl7Peer.start();
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(peer.port)));
    await new StatusTap('n1').until((s) => s.text === 'connected');
    await peer.accepted(1);
    expect(peer.connections).toBe(1);
    const closed = new Promise<void>((resolve) => peer?.mllp.once('disconnect', () => resolve()));
    await helper.unload();
    await closed;
    expect(peer.connections).toBe(0);
  });

  test('an invalid configuration is logged and shown, and sends fail with CONFIG', async () => {
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(1, { port: 'not-a-port' })));
    const status = new StatusTap('n1');
    const caught = new MessageTap('caught');
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'error: CONFIG' });
    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(errors).toEqual([expect.objectContaining({ id: 'ep1', msg: 'invalid MLLP endpoint configuration: port must be 1-65535, got NaN' })]);

    flowNode('n1').receive({ payload: canaryOru('CTRL-1') } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'CONFIG' });
    expect(failed.retryable).toBe(false);
  });

  test('a reconnect maximum below the minimum is a configuration error', async () => {
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(2575, { reconnectMin: '5000', reconnectMax: '100' })));
    await new StatusTap('n1').until((s) => s.text === 'error: CONFIG');
  });

  test('pemText rebuilds PEM whose line breaks were lost or escaped', () => {
    const pem = '-----BEGIN CERTIFICATE-----\n' + 'A'.repeat(64) + '\n' + 'B'.repeat(10) + '\n-----END CERTIFICATE-----\n';
    expect(pemText(pem.replace(/\n/g, ' '))).toBe(pem);
    expect(pemText(pem.replace(/\n/g, '\\n'))).toBe(pem);
    expect(pemText(pem)).toBe(pem);
    expect(pemText('   ')).toBeUndefined();
    expect(pemText(undefined)).toBeUndefined();
  });
});

function certificates(): { server: { cert: string; key: string }; client: { cert: string; key: string } } | string {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'openssl CLI not found on PATH';
  }
  const read = (): { cert: string; key: string } => {
    const { certFile, keyFile } = selfSignedCert();
    return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
  };
  return { server: read(), client: read() };
}

const certs = certificates();
if (typeof certs === 'string') console.warn(`mllp-endpoint TLS tests skipped: ${certs}`);
const describeTls = typeof certs === 'string' ? describe.skip : describe;

describeTls('mllp-endpoint over TLS', () => {
  const { server, client } = certs as Exclude<typeof certs, string>;
  let peer: ScriptedHl7Peer;

  beforeEach(async () => {
    clearHubServices();
    await helper.startServer();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await peer.close();
  });

  test('mutual TLS with CA, client certificate and key from credentials', async () => {
    peer = await ScriptedHl7Peer.start({ tls: { key: server.key, cert: server.cert, ca: client.cert, requireClientCert: true } });
    // The key pasted into a single-line field arrives without its line breaks.
    const credentials = { ep1: { ca: server.cert, cert: client.cert, key: client.key.replace(/\n/g, ' ') } };
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(peer.port, { tls: true, servername: 'localhost' })), credentials);
    const out = new MessageTap('out');
    const status = new StatusTap('n1');

    flowNode('n1').receive({ payload: canaryOru('TLS-1') } as TestMsg);
    expect((await out.next()).hl7Ack).toMatchObject({ code: 'AA', controlId: 'TLS-1' });
    await status.until((s) => s.text === 'acked 1');
    const secrets = [client.key, server.cert.split('\n')[1] ?? 'x', client.key.split('\n')[1] ?? 'x'];
    const logged = JSON.stringify(logEvents()) + JSON.stringify(status.all);
    for (const secret of secrets) expect(logged).not.toContain(secret);
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('without the client certificate the receiver refuses the connection', async () => {
    peer = await ScriptedHl7Peer.start({ tls: { key: server.key, cert: server.cert, ca: client.cert, requireClientCert: true } });
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(peer.port, { tls: true, ackTimeout: '1000' })), { ep1: { ca: server.cert } });
    const caught = new MessageTap('caught');

    flowNode('n1').receive({ payload: canaryOru('TLS-2') } as TestMsg);
    const failed = await caught.next();
    expect(['CONNECT_FAILED', 'TIMEOUT']).toContain((failed.error as { code: string }).code);
    expect(failed.retryable).toBe(true);
    expect(peer.received).toHaveLength(0);
  });

  test('an untrusted server certificate shows as disconnected with the TLS error code', async () => {
    peer = await ScriptedHl7Peer.start({ tls: { key: server.key, cert: server.cert } });
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(peer.port, { tls: true })), { ep1: { ca: client.cert } });
    const status = new StatusTap('n1');
    const down = await status.until((s) => s.fill === 'red');
    expect(down.text).toMatch(/^disconnected: [A-Z_]+$/);
    expect(peer.received).toHaveLength(0);
  });

  test('a client certificate without its key is a configuration error', async () => {
    peer = await ScriptedHl7Peer.start({ tls: { key: server.key, cert: server.cert } });
    await helper.load([endpointNode, mllpOutNode], flow(endpointDef(peer.port, { tls: true })), { ep1: { ca: server.cert, cert: client.cert } });
    await new StatusTap('n1').until((s) => s.text === 'error: CONFIG');
    const errors = logEvents().filter((e) => (e as { level?: number }).level === LOG_ERROR);
    expect(String((errors[0] as { msg: unknown }).msg)).toContain('a client certificate needs its private key');
    expect(JSON.stringify(logEvents())).not.toContain(client.cert.split('\n')[1] ?? 'x');
  });
});
