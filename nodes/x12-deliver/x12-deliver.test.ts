import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Claim837Builder, claimFromDft, InMemoryControlNumberSource } from '../../adapters/x12';
import { fixtureText, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../../test/fixtures/x12';
import { flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { selfSignedCert } from '../../test/support/self-signed';
import clearinghouseInit = require('../clearinghouse/clearinghouse');
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import x12DeliverInit = require('./x12-deliver');

helper.init(require.resolve('node-red'));

const TOKEN = 'clearinghouse-api-token-42';

describe('x12-deliver node (HTTPS clearinghouse)', () => {
  const { certFile, keyFile } = selfSignedCert();
  const ca = readFileSync(certFile, 'utf8');
  let server: Server;
  let url: string;
  let received: { headers: IncomingHttpHeaders; body: string }[];
  let answers: { status: number; body?: string; headers?: Record<string, string> }[];
  let hub: HubHarness;
  let x12: string;

  beforeAll(async () => {
    server = createServer({ cert: ca, key: readFileSync(keyFile) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const a = answers.shift() ?? { status: 202, headers: { 'x-request-id': 'req-1' } };
        res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/submissions/837`;
    x12 = (await new Claim837Builder({ parties: TEST_PARTIES, billing: TEST_BILLING }, { controlNumbers: new InMemoryControlNumberSource({ interchange: 41 }) }).build([claimFromDft(fixtureText('ivf-cycle.dft-p03.hl7'))])).x12;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(async () => {
    received = [];
    answers = [];
    await helper.startServer();
    hub = await startHubHarness();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  });

  async function load(settings: Record<string, unknown> = {}, credentials: Record<string, unknown> = { ch: { token: TOKEN, ca } }) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'ch', type: 'clearinghouse', name: 'keyins-ch', transport: 'https', url, timeout: '3000', maxAttempts: '1', ...settings },
      { id: 'd1', z: 'f1', type: 'x12-deliver', clearinghouse: 'ch', wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load([withCatalog(clearinghouseInit, join(__dirname, '..', 'clearinghouse'), 'clearinghouse'), withCatalog(x12DeliverInit, __dirname, 'x12-deliver')], flow, credentials);
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('d1') };
  }

  function noPhi(...things: unknown[]): void {
    expect(x12CanariesIn(JSON.stringify([things, logEvents()]))).toEqual([]);
  }

  test('posts the interchange with token and idempotency key; the stored 837P record becomes sent', async () => {
    const { out, status } = await load();
    const record = await hub.store.insert({ direction: 'outbound', endpoint: 'claims-837', messageType: '837P', status: 'processing', body: x12 });
    flowNode('d1').receive({ payload: x12, hubMessageId: record.id, fileName: 'REPROMEDSUBMIT_000000042.837' } as TestMsg);
    const msg = await out.next();
    expect(msg.delivery).toMatchObject({ transport: 'https', target: '/submissions/837', status: 202, attempts: 1, providerRequestId: 'req-1', fileName: 'REPROMEDSUBMIT_000000042.837' });
    expect(received).toHaveLength(1);
    expect(received[0]?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'REPROMEDSUBMIT_000000042.837', 'content-type': 'application/edi-x12' });
    expect(received[0]?.body).toBe(x12);
    expect(await hub.store.get(record.id)).toMatchObject({ status: 'sent', attempts: 1 });
    await status.until((s) => s.text === 'delivered 1');
    noPhi(status.all);
  });

  test('without a file name or hub message id: the name comes from ISA06/ISA13 and the interchange is recorded first', async () => {
    const { out } = await load();
    flowNode('d1').receive({ payload: x12 } as TestMsg);
    const msg = await out.next();
    expect(received[0]?.headers['idempotency-key']).toBe('REPROMEDSUBMIT_000000042.837');
    expect(await hub.store.get(msg.hubMessageId as string)).toMatchObject({ direction: 'outbound', endpoint: 'keyins-ch', messageType: '837P', controlId: '000000042', status: 'sent' });
  });

  test('a 503 is retryable, a 401 is AUTH and permanent; both reach Catch without claim data', async () => {
    const { caught, status } = await load();
    answers.push({ status: 503 }, { status: 401 });
    flowNode('d1').receive({ payload: x12 } as TestMsg);
    const unavailable = await caught.next();
    expect(unavailable.error).toMatchObject({ code: 'PROVIDER' });
    expect(unavailable.retryable).toBe(true);
    expect(await hub.store.get(unavailable.hubMessageId as string)).toMatchObject({ status: 'error', errorCode: 'PROVIDER' });
    delete unavailable.error;
    flowNode('d1').receive(unavailable);
    const refused = await caught.next();
    expect(refused.error).toMatchObject({ code: 'AUTH' });
    expect(refused.retryable).toBe(false);
    expect(refused.hubMessageId).toBe(unavailable.hubMessageId);
    expect(await hub.store.get(refused.hubMessageId as string)).toMatchObject({ status: 'error', errorCode: 'AUTH', attempts: 2 });
    await status.until((s) => s.text === 'error: AUTH');
    noPhi(unavailable.error, refused.error, status.all);
  });

  test('a server certificate not signed by the configured CA is AUTH, not retried', async () => {
    const { caught } = await load({}, { ch: { token: TOKEN } });
    flowNode('d1').receive({ payload: x12 } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'AUTH' });
    expect(failed.retryable).toBe(false);
    expect(received).toHaveLength(0);
  });

  test('an http:// URL is a configuration error; an empty one is "not configured"', async () => {
    let { status, caught } = await load({ url: 'http://127.0.0.1:1/x' });
    await status.until((s) => s.text === 'error: CONFIG');
    flowNode('d1').receive({ payload: x12 } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'CONFIG' });
    await helper.unload();
    ({ status } = await load({ url: '' }, {}));
    await status.until((s) => s.text === 'not configured');
    expect(JSON.stringify(logEvents())).not.toContain(TOKEN);
  });
});
