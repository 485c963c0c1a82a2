import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger, LogMeta } from '../../adapters/shared/logger';
import { Claim837Builder, claimFromDft, HttpsX12Delivery, InMemoryControlNumberSource, parseX12, X12DeliveryError } from '../../adapters/x12';
import type { Built837P } from '../../adapters/x12';
import { fixtureText, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../fixtures/x12';
import { selfSignedCert } from '../support/self-signed';

/**
 * HTTPS delivery to a loopback clearinghouse stand-in with a self-signed
 * certificate: trusted only through the configured CA.
 */
interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

function capture(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, message, ...meta }));
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, text: () => lines.join('\n') };
}

describe('HTTPS delivery of an 837P', () => {
  const { certFile, keyFile } = selfSignedCert();
  const ca = readFileSync(certFile);
  let server: Server;
  let url: string;
  const received: Received[] = [];
  let answers: { status: number; body?: string; headers?: Record<string, string> }[] = [];
  let built: Built837P;
  let logs: ReturnType<typeof capture>;

  beforeAll(async () => {
    server = createServer({ cert: ca, key: readFileSync(keyFile) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const a = answers.shift() ?? { status: 202 };
        res.writeHead(a.status, { 'content-type': 'text/plain', ...a.headers });
        res.end(a.body ?? '');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/submissions/837`;
    built = await new Claim837Builder({ parties: TEST_PARTIES, billing: TEST_BILLING }, { controlNumbers: new InMemoryControlNumberSource({ interchange: 101, group: 100 }) }).build([
      claimFromDft(fixtureText('ivf-cycle.dft-p03.hl7')),
    ]);
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    received.length = 0;
    answers = [];
    logs = capture();
  });

  afterEach(() => {
    expect(x12CanariesIn(logs.text())).toEqual([]);
  });

  const delivery = (extra: Partial<ConstructorParameters<typeof HttpsX12Delivery>[0]> = {}): HttpsX12Delivery =>
    new HttpsX12Delivery({ url, bearerToken: 'ch-token', tls: { ca }, maxAttempts: 3, backoff: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 }, ...extra }, { logger: logs.logger });

  test('posts the interchange as application/edi-x12 with the bearer token and an idempotency key; a TA1 in the answer is parsed', async () => {
    answers = [{ status: 200, body: 'ISA*00*          *00*          *ZZ*KEYINSRECEIVER *ZZ*REPROMEDSUBMIT *250324*1016*^*00501*000000900*0*T*:~TA1*000000102*250324*1015*A*000~IEA*0*000000900~', headers: { 'x-request-id': 'sub-77' } }];
    const receipt = await delivery().deliver(built.fileName, built.x12);

    expect(receipt).toMatchObject({ transport: 'https', target: '/submissions/837', status: 200, attempts: 1, providerRequestId: 'sub-77', bytes: Buffer.byteLength(built.x12) });
    expect(received).toHaveLength(1);
    expect(received[0]!.body).toBe(built.x12);
    expect(received[0]!.headers).toMatchObject({
      'content-type': 'application/edi-x12',
      authorization: 'Bearer ch-token',
      'idempotency-key': 'REPROMEDSUBMIT_000000102.837',
      'content-disposition': 'attachment; filename="REPROMEDSUBMIT_000000102.837"',
    });
    const ack = parseX12(receipt.responseBody!);
    expect(ack.kind === 'ack' && ack.acknowledgment.interchanges[0]).toMatchObject({ interchangeControlNumber: '000000102', code: 'A' });
  });

  test('503 is retried with the same idempotency key, then accepted', async () => {
    answers = [{ status: 503 }, { status: 202 }];
    const receipt = await delivery().deliver(built.fileName, built.x12);
    expect(receipt).toMatchObject({ status: 202, attempts: 2 });
    expect(received.map((r) => r.headers['idempotency-key'])).toEqual([built.fileName, built.fileName]);
  });

  test('4xx is permanent, 401 is AUTH; neither is retried', async () => {
    answers = [{ status: 400, body: 'bad file' }];
    await expect(delivery().deliver(built.fileName, built.x12)).rejects.toMatchObject({ code: 'PROVIDER', retryable: false, status: 400 });
    answers = [{ status: 401 }];
    const err = await delivery().deliver(built.fileName, built.x12).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(X12DeliveryError);
    expect(err).toMatchObject({ code: 'AUTH', retryable: false, status: 401 });
    expect(received).toHaveLength(2);
  });

  test('5xx that persists is a retryable PROVIDER error after maxAttempts', async () => {
    answers = [{ status: 500 }, { status: 502 }, { status: 504 }];
    await expect(delivery().deliver(built.fileName, built.x12)).rejects.toMatchObject({ code: 'PROVIDER', retryable: true, status: 504 });
    expect(received).toHaveLength(3);
  });

  test('without the CA the self-signed certificate is refused as AUTH (not retried); nothing is sent', async () => {
    const err = await delivery({ tls: undefined, maxAttempts: 3 }).deliver(built.fileName, built.x12).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'AUTH', retryable: false });
    expect(String((err as Error).cause)).toMatch(/self[- ]signed|certificate/i);
    expect(received).toHaveLength(0);
  });

  test('plain http URLs are refused at configuration time', () => {
    expect(() => new HttpsX12Delivery({ url: url.replace('https:', 'http:') })).toThrow(expect.objectContaining({ code: 'CONFIG', retryable: false }));
  });

  test('an unreachable clearinghouse is a retryable CONNECT_FAILED', async () => {
    const closed = createServer({ cert: ca, key: readFileSync(keyFile) });
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const d = new HttpsX12Delivery({ url: `https://127.0.0.1:${port}/x`, tls: { ca }, maxAttempts: 2, backoff: { initialDelayMs: 5, jitter: 0 } });
    await expect(d.deliver(built.fileName, built.x12)).rejects.toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
  });
});
