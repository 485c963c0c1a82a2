import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './hub-process';

/**
 * A real OpenSSH server (Debian openssh-server) on loopback for SFTP tests:
 * throwaway host and user keys, its own config, a free port, run in the
 * foreground as the current user and killed on `stop()`.
 */
export const SSHD_PATH = '/usr/sbin/sshd';

export interface SshdHandle {
  host: string;
  port: number;
  username: string;
  /** Temp dir holding keys, config and `upload/`. */
  dir: string;
  /** Directory for uploads (absolute path, valid on the server too). */
  uploadDir: string;
  /** OpenSSH private key that is in authorized_keys. */
  userKey: string;
  /** A valid key the server does not know: logins with it are refused. */
  strangerKey: string;
  /** SHA-256 fingerprint of the host key, base64 as `ssh-keygen -lf` prints it (no `SHA256:` prefix). */
  hostKeySha256: string;
  /** sshd's stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

function keygen(file: string, comment: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file], { stdio: 'ignore' });
}

/** Resolves once the port answers with an SSH banner. */
async function waitForBanner(port: number, child: ChildProcess, log: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with status ${child.exitCode} before listening:\n${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      let data = '';
      const done = (v: boolean): void => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(1000, () => done(false));
      s.on('data', (d: Buffer) => {
        data += d.toString('latin1');
        if (data.includes('SSH-2.0')) done(true);
      });
      s.on('error', () => done(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Start sshd on 127.0.0.1 with public-key login for the current user and the
 * internal-sftp subsystem.
 * @throws Error naming `apt-get install openssh-server` when sshd is absent
 */
export async function startSshd(): Promise<SshdHandle> {
  if (!existsSync(SSHD_PATH)) {
    throw new Error(`OpenSSH server not found at ${SSHD_PATH}; install it with: apt-get install openssh-server`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'hub-sshd-'));
  const uploadDir = join(dir, 'upload');
  mkdirSync(uploadDir);
  keygen(join(dir, 'host_ed25519'), 'hub-test-host');
  keygen(join(dir, 'user_ed25519'), 'hub-test-user');
  keygen(join(dir, 'stranger_ed25519'), 'hub-test-stranger');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'user_ed25519.pub')), { mode: 0o600 });
  // sshd refuses to start without its privilege-separation directory (Debian creates it at boot via tmpfiles).
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const hostPub = readFileSync(join(dir, 'host_ed25519.pub'), 'utf8').trim().split(/\s+/)[1] ?? '';
  const hostKeySha256 = createHash('sha256').update(Buffer.from(hostPub, 'base64')).digest('base64').replace(/=+$/, '');
  const username = userInfo().username;

  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const config = join(dir, 'sshd_config');
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host_ed25519')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        // Key-only root login: the tests run as root on CI.
        'PermitRootLogin prohibit-password',
        `AllowUsers ${username}`,
        'Subsystem sftp internal-sftp',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    let stderr = '';
    const child = spawn(SSHD_PATH, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
    });
    const log = (): string => stderr;
    try {
      await waitForBanner(port, child, log);
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      continue;
    }
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    return {
      host: '127.0.0.1',
      port,
      username,
      dir,
      uploadDir,
      userKey: readFileSync(join(dir, 'user_ed25519'), 'utf8'),
      strangerKey: readFileSync(join(dir, 'stranger_ed25519'), 'utf8'),
      hostKeySha256,
      log,
      stop,
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastError instanceof Error ? lastError : new Error('sshd did not start');
}

export interface CuttingProxy {
  port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Connections cut so far. */
  cuts(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of sshd that cuts the first `cutConnections`
 * connections once more than `cutAfterBytes` went from client to server,
 * i.e. in the middle of an upload: a dropped connection, made repeatable.
 * @param targetPort - sshd port
 * @param options - when to cut
 */
export async function startCuttingProxy(targetPort: number, options: { cutAfterBytes: number; cutConnections: number }): Promise<CuttingProxy> {
  let accepted = 0;
  let cut = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    accepted++;
    const cutThis = accepted <= options.cutConnections;
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    let sent = 0;
    const destroyBoth = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (cutThis && sent > options.cutAfterBytes) {
        cut++;
        destroyBoth();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', destroyBoth);
    upstream.on('error', destroyBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => accepted,
    cuts: () => cut,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
