import { createHash } from 'node:crypto';
import type { Logger, LogMeta } from '../shared/logger';
import { classifySftpError } from './classify';
import { SftpAuthError, SftpConnectionError, SftpRemoteError, SftpTimeoutError } from './errors';
import { hostKeyVerifier, Ssh2SftpUploader } from './sftp-uploader';
import type { SftpSession, SftpUploaderOptions } from './sftp-uploader';

/** An in-memory SFTP server behind the SftpSession seam, with scripted failures. */
class FakeServer {
  files = new Map<string, Buffer>();
  ops: string[] = [];
  sessions = 0;
  failures: { op: string; error: unknown }[] = [];

  session(): SftpSession {
    this.sessions++;
    const fail = (op: string): void => {
      const i = this.failures.findIndex((f) => f.op === op);
      if (i >= 0) {
        const [f] = this.failures.splice(i, 1);
        throw f!.error;
      }
    };
    return {
      connect: async () => {
        this.ops.push('connect');
        fail('connect');
      },
      put: async (input, path) => {
        this.ops.push(`put ${path}`);
        this.files.set(path, input.subarray(0, Math.floor(input.length / 2)));
        fail('put');
        this.files.set(path, Buffer.from(input));
      },
      rename: async (from, to) => {
        this.ops.push(`rename ${from} -> ${to}`);
        fail('rename-before');
        if (this.files.has(to)) throw Object.assign(new Error('_rename: Failure'), { code: 4 });
        this.files.set(to, this.files.get(from)!);
        this.files.delete(from);
        fail('rename');
      },
      delete: async (path) => {
        this.ops.push(`delete ${path}`);
        this.files.delete(path);
      },
      exists: async (path) => {
        fail('exists');
        return this.files.has(path) ? '-' : false;
      },
      stat: async (path) => ({ size: this.files.get(path)?.length ?? 0 }),
      end: async () => {
        this.ops.push('end');
      },
    };
  }
}

function setup(options: Partial<SftpUploaderOptions> = {}): { server: FakeServer; uploader: Ssh2SftpUploader; sleeps: number[]; lines: string[] } {
  const server = new FakeServer();
  const sleeps: number[] = [];
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, message, ...meta }));
  };
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  const uploader = new Ssh2SftpUploader(
    { host: 'ch.example', port: 2222, username: 'hub', privateKey: 'KEY', remoteDir: '/inbox', maxAttempts: 3, backoff: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 0 }, ...options },
    { createSession: () => server.session(), sleep: async (ms) => void sleeps.push(ms), random: () => 0, logger },
  );
  return { server, uploader, sleeps, lines };
}

const dropped = (): Error => Object.assign(new Error('put: Remote host has reset the connection: read ECONNRESET'), { code: 'ECONNRESET' });

describe('Ssh2SftpUploader', () => {
  test('writes a hidden temp file, then renames it into place', async () => {
    const { server, uploader } = setup();
    const receipt = await uploader.upload('CLAIMS_000000001.837', 'ISA*...~');
    expect(receipt).toEqual({ remotePath: '/inbox/CLAIMS_000000001.837', bytes: 8, attempts: 1, alreadyPresent: false });
    const put = server.ops.find((o) => o.startsWith('put '))!;
    expect(put).toMatch(/^put \/inbox\/\.CLAIMS_000000001\.837\.[0-9a-f]{8}\.part$/);
    expect(server.ops).toContain(`rename ${put.slice(4)} -> /inbox/CLAIMS_000000001.837`);
    expect([...server.files.keys()]).toEqual(['/inbox/CLAIMS_000000001.837']);
  });

  test('tempDir puts the temporary file elsewhere on the same filesystem', async () => {
    const { server, uploader } = setup({ tempDir: '/inbox/.tmp' });
    await uploader.upload('a.837', 'x');
    expect(server.ops.find((o) => o.startsWith('put '))).toMatch(/^put \/inbox\/\.tmp\/\.a\.837\./);
  });

  test('a connection dropped during put is retried with backoff on a new session; the partial temp file is removed', async () => {
    const { server, uploader, sleeps, lines } = setup();
    server.failures.push({ op: 'put', error: dropped() });
    const receipt = await uploader.upload('b.837', 'payload');
    expect(receipt.attempts).toBe(2);
    expect(server.sessions).toBe(2);
    expect(sleeps).toEqual([100]);
    expect([...server.files.keys()]).toEqual(['/inbox/b.837']);
    expect(server.ops.filter((o) => o.startsWith('delete'))).toHaveLength(1);
    expect(lines.some((l) => l.includes('"code":"CONNECT_FAILED"'))).toBe(true);
    expect(lines.join('\n')).not.toContain('payload');
  });

  test('a rename whose answer was lost is recognised on retry: the file is there with the right size', async () => {
    const { server, uploader } = setup();
    server.failures.push({ op: 'rename', error: dropped() });
    const receipt = await uploader.upload('c.837', 'payload');
    expect(receipt).toMatchObject({ attempts: 2, alreadyPresent: true });
    expect(server.files.get('/inbox/c.837')!.toString()).toBe('payload');
  });

  test('refused login is AUTH and not retried', async () => {
    const { server, uploader, sleeps } = setup();
    server.failures.push({ op: 'connect', error: new Error('connect: All configured authentication methods failed') });
    const err = await uploader.upload('d.837', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SftpAuthError);
    expect(err).toMatchObject({ code: 'AUTH', retryable: false, reason: 'login' });
    expect(server.sessions).toBe(1);
    expect(sleeps).toEqual([]);
  });

  test('an existing target on the first attempt is a permanent error; nothing is overwritten', async () => {
    const { server, uploader } = setup();
    server.files.set('/inbox/e.837', Buffer.from('older'));
    await expect(uploader.upload('e.837', 'newer')).rejects.toMatchObject({ code: 'PROVIDER', retryable: false, reason: 'exists' });
    expect(server.files.get('/inbox/e.837')!.toString()).toBe('older');
  });

  test('every attempt failing ends in a retryable SftpConnectionError with the attempt count', async () => {
    const { server, uploader, sleeps } = setup();
    for (let i = 0; i < 3; i++) server.failures.push({ op: 'connect', error: Object.assign(new Error('connect: Remote host refused connection'), { code: 'ECONNREFUSED' }) });
    const err = await uploader.upload('f.837', 'x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SftpConnectionError);
    expect(err).toMatchObject({ retryable: true, attempts: 3 });
    expect(sleeps).toEqual([100, 200]);
  });

  test('uploads on one uploader run one at a time', async () => {
    const { server, uploader } = setup();
    await Promise.all(['g1.837', 'g2.837', 'g3.837'].map((n) => uploader.upload(n, n)));
    const order = server.ops.filter((o) => o.startsWith('rename')).map((o) => o.split(' -> ')[1]);
    expect(order).toEqual(['/inbox/g1.837', '/inbox/g2.837', '/inbox/g3.837']);
    expect(server.sessions).toBe(1);
  });

  test('file names that could escape the directory or hide are refused', async () => {
    const { uploader } = setup();
    for (const name of ['../etc/passwd', '.hidden', 'a/b', '']) {
      await expect(uploader.upload(name, 'x')).rejects.toBeInstanceOf(SftpRemoteError);
    }
  });

  test('close() ends the session and later uploads fail fast', async () => {
    const { server, uploader } = setup();
    await uploader.upload('h.837', 'x');
    await uploader.close();
    await uploader.close();
    expect(server.ops.filter((o) => o === 'end')).toHaveLength(1);
    await expect(uploader.upload('i.837', 'x')).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
  });

  test('a stalled operation times out as a retryable TIMEOUT', async () => {
    const server = new FakeServer();
    const stalled: SftpSession = { ...server.session(), put: () => new Promise(() => undefined) };
    const uploader = new Ssh2SftpUploader({ host: 'h', username: 'u', remoteDir: '/in', maxAttempts: 1, operationTimeoutMs: 20 }, { createSession: () => stalled });
    await expect(uploader.upload('j.837', 'x')).rejects.toBeInstanceOf(SftpTimeoutError);
  });
});

describe('classifySftpError', () => {
  test.each([
    [{ message: 'x', level: 'client-authentication' }, 'AUTH', false],
    [new Error('Host denied (verification failed)'), 'AUTH', false],
    [Object.assign(new Error('No such file'), { code: 2 }), 'PROVIDER', false],
    [Object.assign(new Error('Permission denied'), { code: 3 }), 'PROVIDER', false],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'CONNECT_FAILED', true],
    [new Error('Timed out while waiting for handshake'), 'CONNECT_FAILED', true],
  ])('%p → %s', (err, code, retryable) => {
    expect(classifySftpError(err, 'put', 'h:22', 1)).toMatchObject({ code, retryable });
  });
});

test('hostKeyVerifier compares the SHA-256 of the key blob as ssh-keygen prints it', () => {
  const blob = Buffer.from('host key blob');
  const fp = createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
  expect(hostKeyVerifier(`SHA256:${fp}`)(blob)).toBe(true);
  expect(hostKeyVerifier(fp)(Buffer.from('other'))).toBe(false);
});
