import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { MllpClient } from './mllp-client';
import type { MllpClientOptions } from './mllp-client';
import { MllpConnectError } from './errors';
import type { MllpPeerRejectedError } from './errors';
import { frame } from './mllp-framer';
import { MllpServer } from './mllp-server';
import type { MllpServerOptions } from './mllp-server';

interface KeyPair {
  key: Buffer;
  cert: Buffer;
}

/**
 * Self-signed certificates made at test time with the openssl CLI. Node's
 * crypto can make keys but not X.509 certificates, so without openssl the
 * suite is skipped with the reason printed.
 */
function makeCertificates(): { server: KeyPair; client: KeyPair; other: KeyPair } | string {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return 'openssl CLI not found on PATH';
  }
  const dir = mkdtempSync(join(tmpdir(), 'mllp-tls-'));
  try {
    const make = (name: string, cn: string, san: string): KeyPair => {
      const key = join(dir, `${name}.key`);
      const cert = join(dir, `${name}.crt`);
      execFileSync(
        'openssl',
        [
          'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
          '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`, '-keyout', key, '-out', cert,
        ],
        { stdio: 'ignore' },
      );
      return { key: readFileSync(key), cert: readFileSync(cert) };
    };
    return {
      server: make('server', 'localhost', 'DNS:localhost,IP:127.0.0.1'),
      client: make('client', 'lab-analyzer', 'DNS:lab-analyzer'),
      other: make('other', 'localhost', 'DNS:localhost,IP:127.0.0.1'),
    };
  } catch (err) {
    return `openssl could not create a self-signed certificate: ${(err as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const certificates = makeCertificates();
if (typeof certificates === 'string') console.warn(`MLLP TLS tests skipped: ${certificates}`);
const describeTls = typeof certificates === 'string' ? describe.skip : describe;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describeTls('MLLP over TLS', () => {
  const certs = certificates as Exclude<typeof certificates, string>;
  const servers: MllpServer[] = [];
  const clients: MllpClient[] = [];

  async function server(options: Partial<MllpServerOptions> = {}): Promise<MllpServer> {
    const s = new MllpServer(
      { port: 0, tls: { key: certs.server.key, cert: certs.server.cert }, ...options },
      async (payload) => `ACK ${payload.toString()}`,
    );
    servers.push(s);
    await s.listen();
    return s;
  }

  function client(port: number, tls: MllpClientOptions['tls'], options: Partial<MllpClientOptions> = {}): MllpClient {
    const c = new MllpClient({ host: '127.0.0.1', port, tls, reconnect: false, ...options });
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('round-trips with the server certificate pinned as CA', async () => {
    const s = await server();
    const c = client(s.port ?? 0, { ca: certs.server.cert });
    expect((await c.send('MSH|1')).toString()).toBe('ACK MSH|1');
    expect((await c.send('MSH|2')).toString()).toBe('ACK MSH|2');
    expect(s.connections).toBe(1);
  });

  it('refuses a server whose certificate the client does not trust', async () => {
    const s = await server();
    const c = client(s.port ?? 0, { ca: certs.other.cert });
    const error = await c.send('MSH|1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MllpConnectError);
    expect(error).toMatchObject({ code: 'CONNECT_FAILED', written: false });
  });

  describe('mutual TLS (requireClientCert)', () => {
    const mtls = (): Partial<MllpServerOptions> => ({
      tls: { key: certs.server.key, cert: certs.server.cert, ca: certs.client.cert, requireClientCert: true },
    });

    it('accepts a client with a trusted certificate', async () => {
      const s = await server(mtls());
      const c = client(s.port ?? 0, { ca: certs.server.cert, cert: certs.client.cert, key: certs.client.key });
      expect((await c.send('MSH|1')).toString()).toBe('ACK MSH|1');
    });

    it('refuses a client without a certificate and reports it as a TLS handshake rejection', async () => {
      const s = await server(mtls());
      const rejected: MllpPeerRejectedError[] = [];
      s.on('rejected', (e) => rejected.push(e));
      const c = client(s.port ?? 0, { ca: certs.server.cert });
      const error = await c.send('MSH|1', { timeoutMs: 2000 }).catch((e: unknown) => e);
      // TLS 1.3 clients finish their side of the handshake before the server
      // checks the certificate, so the refusal can surface after the write.
      expect(error).toMatchObject({ code: 'CONNECT_FAILED' });
      while (rejected.length === 0) await delay(5);
      expect(rejected[0]).toMatchObject({ reason: 'tls-handshake', code: 'AUTH', remoteAddress: '127.0.0.1' });
    });
  });

  it('reports a plain-TCP MLLP sender on the TLS port as a handshake rejection', async () => {
    const s = await server();
    const rejected: MllpPeerRejectedError[] = [];
    s.on('rejected', (e) => rejected.push(e));
    const socket = netConnect({ host: '127.0.0.1', port: s.port ?? 0 });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(frame('MSH|^~\\&|LAB'));
    await once(socket, 'close');
    while (rejected.length === 0) await delay(5);
    expect(rejected[0]).toMatchObject({ reason: 'tls-handshake', code: 'AUTH' });
  });

  it('destroys disallowed peers before the handshake and reports them once', async () => {
    const s = await server({ allowedPeers: ['10.0.0.1'] });
    const rejected: MllpPeerRejectedError[] = [];
    s.on('rejected', (e) => rejected.push(e));
    const socket = tlsConnect({ host: '127.0.0.1', port: s.port ?? 0, ca: certs.server.cert });
    const outcome = await new Promise<string>((resolve) => {
      socket.once('secureConnect', () => resolve('handshake completed'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.name));
    });
    socket.destroy();
    expect(outcome).not.toBe('handshake completed');
    while (rejected.length === 0) await delay(5);
    await delay(50);
    expect(rejected.map((e) => e.reason)).toEqual(['peer-not-allowed']);
  });

  it('closes idempotently with TLS connections open', async () => {
    const s = await server();
    const c = client(s.port ?? 0, { ca: certs.server.cert });
    await c.send('MSH|1');
    const closing = s.close();
    expect(s.close()).toBe(closing);
    await closing;
    expect(s.connections).toBe(0);
  });
});
