import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SftpAuthError, SftpConnectionError, SftpRemoteError, Ssh2SftpUploader } from '../../adapters/sftp';
import type { SftpUploaderOptions } from '../../adapters/sftp';
import type { Logger, LogMeta } from '../../adapters/shared/logger';
import { Claim837Builder, claimFromDft, InMemoryControlNumberSource, SftpX12Delivery } from '../../adapters/x12';
import { fixtureText, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../fixtures/x12';
import { startCuttingProxy, startSshd } from '../support/sshd';
import type { CuttingProxy, SshdHandle } from '../support/sshd';

/**
 * SFTP delivery against a real OpenSSH server on loopback (started here, see
 * test/support/sshd.ts): atomic upload, refused login, dropped connection.
 */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, message, ...meta }));
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('SFTP delivery to a real sshd', () => {
  let sshd: SshdHandle;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    sshd = await startSshd();
  });

  afterAll(async () => {
    await sshd?.stop();
  });

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  function uploader(overrides: Partial<SftpUploaderOptions>, logger?: Logger): Ssh2SftpUploader {
    const u = new Ssh2SftpUploader(
      {
        host: sshd.host,
        port: sshd.port,
        username: sshd.username,
        privateKey: sshd.userKey,
        hostKeySha256: sshd.hostKeySha256,
        remoteDir: sshd.uploadDir,
        backoff: { initialDelayMs: 20, maxDelayMs: 100, jitter: 0 },
        connectTimeoutMs: 10_000,
        operationTimeoutMs: 30_000,
        ...overrides,
      },
      { logger },
    );
    closers.push(() => u.close());
    return u;
  }

  async function proxy(cutAfterBytes: number, cutConnections: number): Promise<CuttingProxy> {
    const p = await startCuttingProxy(sshd.port, { cutAfterBytes, cutConnections });
    closers.push(() => p.close());
    return p;
  }

  const leftovers = (): string[] => readdirSync(sshd.uploadDir).filter((f) => f.endsWith('.part'));

  test('an 837P built from the IVF DFT^P03 lands whole under its final name; nothing else is left', async () => {
    const { logger, lines } = capture();
    const builder = new Claim837Builder({ parties: TEST_PARTIES, billing: TEST_BILLING }, { controlNumbers: new InMemoryControlNumberSource({ interchange: 41 }), logger });
    const built = await builder.build([claimFromDft(fixtureText('ivf-cycle.dft-p03.hl7'))]);
    const delivery = new SftpX12Delivery(uploader({}, logger));
    closers.push(() => delivery.close());

    const receipt = await delivery.deliver(built.fileName, built.x12);

    expect(receipt).toMatchObject({ transport: 'sftp', target: join(sshd.uploadDir, 'REPROMEDSUBMIT_000000042.837'), attempts: 1, alreadyPresent: false });
    expect(readFileSync(join(sshd.uploadDir, built.fileName), 'utf8')).toBe(built.x12);
    expect(leftovers()).toEqual([]);
    expect(x12CanariesIn(lines.join('\n'))).toEqual([]);
  });

  test('a second upload to the same name is refused, not overwritten (the clearinghouse may be reading it)', async () => {
    const u = uploader({});
    await u.upload('dup-test.837', 'first');
    const err = await u.upload('dup-test.837', 'second').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SftpRemoteError);
    expect(err).toMatchObject({ code: 'PROVIDER', retryable: false, reason: 'exists' });
    expect(readFileSync(join(sshd.uploadDir, 'dup-test.837'), 'utf8')).toBe('first');
  });

  test('a refused login (key not in authorized_keys) is a typed AUTH error and is not retried', async () => {
    const p = await proxy(Number.MAX_SAFE_INTEGER, 0);
    const { logger, lines } = capture();
    const u = uploader({ port: p.port, privateKey: sshd.strangerKey, maxAttempts: 4 }, logger);

    const err = await u.upload('refused.837', 'x').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(SftpAuthError);
    expect(err).toMatchObject({ code: 'AUTH', retryable: false, reason: 'login' });
    expect(p.connections()).toBe(1);
    expect(readdirSync(sshd.uploadDir)).not.toContain('refused.837');
    expect(lines.join('\n')).not.toMatch(/BEGIN OPENSSH PRIVATE KEY/);
  });

  test('a host key that is not the pinned one is refused as AUTH (host-key)', async () => {
    const u = uploader({ hostKeySha256: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', maxAttempts: 3 });
    const err = await u.upload('pinned.837', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SftpAuthError);
    expect(err).toMatchObject({ code: 'AUTH', retryable: false, reason: 'host-key' });
  });

  test('a connection dropped mid-upload is retried on a new connection and the file arrives complete', async () => {
    // 600 KB: the proxy cuts the first connection after 200 KB went upstream, i.e. inside the put.
    const content = randomBytes(600 * 1024);
    const p = await proxy(200 * 1024, 1);
    const { logger, lines } = capture();
    const u = uploader({ port: p.port, maxAttempts: 3 }, logger);

    const receipt = await u.upload('dropped.837', content);

    expect(p.cuts()).toBe(1);
    expect(p.connections()).toBe(2);
    expect(receipt).toMatchObject({ attempts: 2, bytes: content.length, alreadyPresent: false });
    expect(readFileSync(join(sshd.uploadDir, 'dropped.837')).equals(content)).toBe(true);
    expect(leftovers()).toEqual([]);
    expect(lines.some((l) => l.includes('sftp upload retrying'))).toBe(true);
  });

  test('when every attempt is cut, the error is retryable CONNECT_FAILED with the attempt count', async () => {
    const p = await proxy(50 * 1024, 100);
    const u = uploader({ port: p.port, maxAttempts: 2 });
    const err = await u.upload('never.837', randomBytes(300 * 1024)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SftpConnectionError);
    expect(err).toMatchObject({ code: 'CONNECT_FAILED', retryable: true, attempts: 2 });
    expect(readdirSync(sshd.uploadDir)).not.toContain('never.837');
  });

  test('an unreachable server is a retryable CONNECT_FAILED', async () => {
    const p = await proxy(0, 0);
    const port = p.port;
    await p.close();
    closers.pop();
    const u = uploader({ port, maxAttempts: 2 });
    await expect(u.upload('x.837', 'x')).rejects.toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
  });
});
