import { createHash, randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { ConnectOptions } from 'ssh2-sftp-client';
import { backoffDelay, DEFAULT_BACKOFF } from '../mllp/backoff';
import type { BackoffOptions } from '../mllp/backoff';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { classifySftpError } from './classify';
import { SftpConnectionError, SftpRemoteError, SftpTimeoutError } from './errors';

export interface SftpUploaderOptions {
  host: string;
  port?: number;
  username: string;
  /** PEM/OpenSSH private key. Key auth is what clearinghouses issue; `password` is the fallback. */
  privateKey?: string | Buffer;
  passphrase?: string;
  password?: string;
  /**
   * Pinned server host key: base64 SHA-256 of the raw key blob, as
   * `ssh-keygen -lf` prints after `SHA256:`. Without it any host key is
   * accepted, which a production config should not allow.
   */
  hostKeySha256?: string;
  /** Directory the clearinghouse picks files up from. */
  remoteDir: string;
  /**
   * Where the temporary file is written; default `remoteDir`. Must be on the
   * same filesystem as `remoteDir` so the final rename is atomic.
   */
  tempDir?: string;
  /** Attempts per upload (first try included). Default 4. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
  /** Handshake and login deadline. Default 10000. */
  connectTimeoutMs?: number;
  /** Deadline of each SFTP operation (put, rename, stat). Default 60000. */
  operationTimeoutMs?: number;
  /** Bound on `close()`. Default 5000. */
  closeTimeoutMs?: number;
}

export interface SftpUploadReceipt {
  /** Final path on the server. */
  remotePath: string;
  bytes: number;
  attempts: number;
  /**
   * True when a retry found the file already in place with the right size:
   * the previous attempt's rename had succeeded but its answer was lost.
   */
  alreadyPresent: boolean;
}

/** Uploads whole files so the receiver never sees a partial one. */
export interface SftpUploader {
  /**
   * Upload `content` as `fileName` in the remote directory: write a temporary
   * file, then rename it into place (atomic for the clearinghouse). Retries
   * dropped connections with backoff.
   * @param fileName - base name, letters, digits, `.`, `_`, `-` only
   * @param content - the file's bytes
   * @throws SftpAuthError (not retryable) when the login or host key is refused
   * @throws SftpRemoteError (not retryable) for missing directories, permissions, or an existing target
   * @throws SftpConnectionError / SftpTimeoutError (retryable) when every attempt failed
   */
  upload(fileName: string, content: Buffer | string): Promise<SftpUploadReceipt>;
  close(): Promise<void>;
}

/** The part of ssh2-sftp-client the uploader uses; tests may inject a fake. */
export interface SftpSession {
  connect(options: ConnectOptions): Promise<unknown>;
  put(input: Buffer, remotePath: string): Promise<unknown>;
  rename(from: string, to: string): Promise<unknown>;
  delete(remotePath: string, notFoundOk?: boolean): Promise<unknown>;
  exists(remotePath: string): Promise<false | 'd' | '-' | 'l'>;
  stat(remotePath: string): Promise<{ size: number }>;
  end(): Promise<unknown>;
}

export interface SftpUploaderDeps {
  /** Creates a fresh session per connection. `onDrop` must be called when the connection ends unexpectedly. */
  createSession?: (onDrop: (err?: unknown) => void) => SftpSession;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: Logger;
}

const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/**
 * SFTP uploader on ssh2-sftp-client. One connection is kept open between
 * uploads and replaced when it drops; uploads run one at a time on it.
 */
export class Ssh2SftpUploader implements SftpUploader {
  private readonly peer: string;
  private readonly backoff: BackoffOptions;
  private readonly createSession: (onDrop: (err?: unknown) => void) => SftpSession;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly logger: Logger;
  private session: SftpSession | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly options: SftpUploaderOptions,
    deps: SftpUploaderDeps = {},
  ) {
    this.peer = `${options.host}:${options.port ?? 22}`;
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.createSession = deps.createSession ?? defaultSession;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
    this.logger = deps.logger ?? silentLogger;
  }

  upload(fileName: string, content: Buffer | string): Promise<SftpUploadReceipt> {
    const run = this.chain.then(() => this.uploadNow(fileName, Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8')));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.dropSession();
  }

  private async uploadNow(fileName: string, content: Buffer): Promise<SftpUploadReceipt> {
    if (this.closed) throw new SftpConnectionError(`SFTP uploader for ${this.peer} is closed`, 0);
    if (!FILE_NAME.test(fileName)) throw new SftpRemoteError('SFTP file name must be letters, digits, ".", "_" or "-" and not start with "."', 'failure');
    const finalPath = posix.join(this.options.remoteDir, fileName);
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? 4);
    let leftover: string | null = null;

    for (let attempt = 1; ; attempt++) {
      // A fresh temp name per attempt: an earlier attempt's half-written file may still be open on the server.
      // The leading dot keeps pick-up jobs that skip hidden files away from it; `.part` for those that skip by suffix.
      const tempPath = posix.join(this.options.tempDir ?? this.options.remoteDir, `.${fileName}.${randomBytes(4).toString('hex')}.part`);
      let phase = 'connect';
      try {
        const session = await this.connected();
        if (leftover) {
          phase = 'cleanup';
          await this.timed(session.delete(leftover, true), phase).catch(() => undefined);
          leftover = null;
        }
        phase = 'stat';
        if ((await this.timed(session.exists(finalPath), phase)) !== false) {
          // On a retry, a file of the right size means our rename went through and only its answer was lost.
          if (attempt > 1 && (await this.timed(session.stat(finalPath), phase)).size === content.length) {
            this.logger.info('sftp upload already in place', { peer: this.peer, bytes: content.length, attempts: attempt });
            return { remotePath: finalPath, bytes: content.length, attempts: attempt, alreadyPresent: true };
          }
          throw new SftpRemoteError(`SFTP target already exists on ${this.peer}`, 'exists');
        }
        phase = 'put';
        leftover = tempPath;
        await this.timed(session.put(content, tempPath), phase);
        phase = 'rename';
        // SFTP v3 RENAME fails when the target exists (no silent overwrite of a file the clearinghouse may be reading).
        await this.timed(session.rename(tempPath, finalPath), phase);
        leftover = null;
        this.logger.info('sftp upload done', { peer: this.peer, bytes: content.length, attempts: attempt });
        return { remotePath: finalPath, bytes: content.length, attempts: attempt, alreadyPresent: false };
      } catch (err) {
        const typed = classifySftpError(err, phase, this.peer, attempt);
        await this.dropSession();
        // After close() no new connection is opened: the failure is final for this uploader.
        if (!typed.retryable || attempt >= maxAttempts || this.closed) {
          this.logger.warn('sftp upload failed', { peer: this.peer, phase, attempts: attempt, ...summarizeError(typed) });
          if (typed instanceof SftpConnectionError && typed.attempts !== attempt) {
            throw new SftpConnectionError(typed.message, attempt, { cause: typed.cause });
          }
          throw typed;
        }
        const delay = backoffDelay(attempt - 1, this.backoff, this.random);
        this.logger.warn('sftp upload retrying', { peer: this.peer, phase, attempts: attempt, delayMs: delay, ...summarizeError(typed) });
        await this.sleep(delay);
      }
    }
  }

  private async connected(): Promise<SftpSession> {
    if (this.session) return this.session;
    let dropped = false;
    const session = this.createSession((err) => {
      dropped = true;
      if (this.session === session) this.session = null;
      this.logger.debug('sftp connection ended', { peer: this.peer, ...summarizeError(err) });
    });
    const config = connectOptions(this.options);
    try {
      await this.timed(session.connect(config), 'connect', (this.options.connectTimeoutMs ?? 10_000) + 1000);
    } catch (err) {
      await withTimeout(session.end(), this.options.closeTimeoutMs ?? 5000).catch(() => undefined);
      throw err;
    }
    if (dropped) throw new SftpConnectionError(`SFTP connection to ${this.peer} dropped during login`, 0);
    this.session = session;
    this.logger.debug('sftp connected', { peer: this.peer });
    return session;
  }

  private async dropSession(): Promise<void> {
    const session = this.session;
    this.session = null;
    if (session) await withTimeout(session.end(), this.options.closeTimeoutMs ?? 5000).catch(() => undefined);
  }

  private timed<T>(promise: Promise<T>, phase: string, ms = this.options.operationTimeoutMs ?? 60_000): Promise<T> {
    return withTimeout(promise, ms).catch((err: unknown) => {
      if (err === TIMED_OUT) throw new SftpTimeoutError(`SFTP ${phase} on ${this.peer} timed out after ${ms} ms`, ms);
      throw err;
    });
  }
}

/** The login part of the options, shared with the poller. */
export type SftpLoginOptions = Pick<SftpUploaderOptions, 'host' | 'port' | 'username' | 'privateKey' | 'passphrase' | 'password' | 'hostKeySha256' | 'connectTimeoutMs'>;

/** ssh2 connect options: key or password login, the pinned host key, no library-level retries. */
export function connectOptions(o: SftpLoginOptions): ConnectOptions {
  return {
    host: o.host,
    port: o.port ?? 22,
    username: o.username,
    readyTimeout: o.connectTimeoutMs ?? 10_000,
    // ssh2-sftp-client's own connect retries would hide an AUTH failure behind minutes of retrying.
    retries: 0,
    ...(o.privateKey !== undefined ? { privateKey: o.privateKey } : {}),
    ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.hostKeySha256 ? { hostVerifier: hostKeyVerifier(o.hostKeySha256) } : {}),
  };
}

export const TIMED_OUT = Symbol('timed out');

/** Rejects with {@link TIMED_OUT} when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(TIMED_OUT), ms);
    timer.unref?.();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** SHA-256 of the host key blob, compared with the pinned value as OpenSSH prints it (base64, no padding). */
export function hostKeyVerifier(expected: string): (key: Buffer) => boolean {
  const want = expected.replace(/^SHA256:/, '').replace(/=+$/, '');
  return (key: Buffer) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === want;
}

function defaultSession(onDrop: (err?: unknown) => void): SftpSession {
  // Our callbacks replace the library defaults, which write to the console.
  const client = new SftpClient('hub-sftp', { error: (err) => onDrop(err), end: () => onDrop(), close: () => onDrop() });
  return client as unknown as SftpSession;
}
