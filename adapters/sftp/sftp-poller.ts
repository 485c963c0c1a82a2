import { posix } from 'node:path';
import SftpClient from 'ssh2-sftp-client';
import type { ConnectOptions, FileInfo } from 'ssh2-sftp-client';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { classifySftpError } from './classify';
import { SftpTimeoutError } from './errors';
import { connectOptions, TIMED_OUT, withTimeout } from './sftp-uploader';
import type { SftpLoginOptions } from './sftp-uploader';

export interface SftpPollerOptions extends SftpLoginOptions {
  /** Directory the clearinghouse leaves its answers in (999, 277CA, 835). */
  remoteDir: string;
  /** Files to pick up; default every regular file. Names starting with `.` (uploads in progress) never are. */
  pattern?: RegExp;
  /** Where a picked-up file is moved; null deletes it instead. Default `<remoteDir>/archive`. */
  archiveDir?: string | null;
  /** A file younger than this (by its modification time) may still be being written: left for the next poll. Default 10 s. */
  minAgeMs?: number;
  /** Most files taken per poll. Default 100. */
  maxFiles?: number;
  /** Deadline of each SFTP operation (list, get, rename). Default 60000. */
  operationTimeoutMs?: number;
  /** Bound on closing the connection. Default 5000. */
  closeTimeoutMs?: number;
}

/** One file as picked up. */
export interface PickedFile {
  name: string;
  content: Buffer;
  modifiedAt: Date;
}

export interface PollResult {
  /** Consumed and then moved away (or deleted). */
  picked: number;
  /** The consumer failed: left in place for the next poll. */
  failed: number;
  /** Matching files left for a later poll (too young, or over `maxFiles`). */
  waiting: number;
}

/** The part of ssh2-sftp-client the poller uses; tests may inject a fake. */
export interface SftpPollSession {
  connect(options: ConnectOptions): Promise<unknown>;
  list(remotePath: string): Promise<Pick<FileInfo, 'type' | 'name' | 'size' | 'modifyTime'>[]>;
  get(remotePath: string): Promise<string | NodeJS.WritableStream | Buffer>;
  rename(from: string, to: string): Promise<unknown>;
  delete(remotePath: string, notFoundOk?: boolean): Promise<unknown>;
  exists(remotePath: string): Promise<false | 'd' | '-' | 'l'>;
  mkdir(remotePath: string, recursive?: boolean): Promise<unknown>;
  end(): Promise<unknown>;
}

export interface SftpPollerDeps {
  createSession?: () => SftpPollSession;
  logger?: Logger;
}

/**
 * Picks up the files a clearinghouse leaves on its SFTP server. Nothing is
 * lost: a file leaves the remote directory (moved to the archive, or
 * deleted) only after the consumer resolved, i.e. after the hub stored it
 * durably; a consumer that fails leaves it for the next poll. A crash between
 * the two means the file is picked up again, so consumers must recognise a
 * file they already have (the clearinghouse-in node does, by content digest).
 * One connection per poll: polls are minutes apart.
 */
export class Ssh2SftpPoller {
  private readonly peer: string;
  private readonly createSession: () => SftpPollSession;
  private readonly logger: Logger;
  private polling: Promise<PollResult> | null = null;

  constructor(
    private readonly options: SftpPollerOptions,
    deps: SftpPollerDeps = {},
  ) {
    this.peer = `${options.host}:${options.port ?? 22}`;
    this.createSession = deps.createSession ?? (() => new SftpClient('hub-sftp-poll', { error: () => undefined, end: () => undefined, close: () => undefined }) as unknown as SftpPollSession);
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * One pass over the remote directory, oldest file first; a pass still
   * running is joined, not repeated.
   * @param consume - stores the file; the file stays remote until it resolves
   * @param now - for the minimum age
   * @throws the typed SFTP error of a failed login, listing or move (files already consumed stay consumed)
   */
  poll(consume: (file: PickedFile) => Promise<void>, now: Date = new Date()): Promise<PollResult> {
    this.polling ??= this.pass(consume, now).finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pass(consume: (file: PickedFile) => Promise<void>, now: Date): Promise<PollResult> {
    const { remoteDir } = this.options;
    const archiveDir = this.options.archiveDir === undefined ? posix.join(remoteDir, 'archive') : this.options.archiveDir;
    const minAge = this.options.minAgeMs ?? 10_000;
    const session = this.createSession();
    let phase = 'connect';
    const result: PollResult = { picked: 0, failed: 0, waiting: 0 };
    try {
      await this.timed(session.connect(connectOptions(this.options)), phase, (this.options.connectTimeoutMs ?? 10_000) + 1000);
      phase = 'list';
      const files = (await this.timed(session.list(remoteDir), phase))
        .filter((f) => f.type === '-' && !f.name.startsWith('.') && (this.options.pattern?.test(f.name) ?? true))
        .sort((a, b) => a.modifyTime - b.modifyTime || (a.name < b.name ? -1 : 1));
      const ready = files.filter((f) => now.getTime() - f.modifyTime >= minAge);
      const take = ready.slice(0, this.options.maxFiles ?? 100);
      result.waiting = files.length - take.length;
      if (take.length > 0 && archiveDir && (await this.timed(session.exists(archiveDir), 'stat')) === false) {
        phase = 'mkdir';
        await this.timed(session.mkdir(archiveDir, true), phase);
      }
      for (const f of take) {
        const path = posix.join(remoteDir, f.name);
        phase = 'get';
        const content = await this.timed(session.get(path), phase);
        const bytes = Buffer.isBuffer(content) ? content : Buffer.from(String(content));
        try {
          await consume({ name: f.name, content: bytes, modifiedAt: new Date(f.modifyTime) });
        } catch (err) {
          result.failed += 1;
          this.logger.warn('sftp pick-up not stored; left on the server', { peer: this.peer, bytes: bytes.length, ...summarizeError(err) });
          continue;
        }
        phase = archiveDir ? 'archive' : 'delete';
        if (archiveDir) await this.archive(session, path, archiveDir, f.name, now);
        else await this.timed(session.delete(path, true), phase);
        result.picked += 1;
      }
      if (result.picked + result.failed > 0) this.logger.info('sftp pick-up done', { peer: this.peer, ...result });
      return result;
    } catch (err) {
      const typed = classifySftpError(err, phase, this.peer, 1);
      this.logger.warn('sftp pick-up failed', { peer: this.peer, phase, picked: result.picked, ...summarizeError(typed) });
      throw typed;
    } finally {
      await withTimeout(session.end(), this.options.closeTimeoutMs ?? 5000).catch(() => undefined);
    }
  }

  /** SFTP v3 RENAME refuses an existing target: a name archived before gets the pick-up time appended. */
  private async archive(session: SftpPollSession, path: string, archiveDir: string, name: string, now: Date): Promise<void> {
    const target = posix.join(archiveDir, name);
    const taken = (await this.timed(session.exists(target), 'stat')) !== false;
    await this.timed(session.rename(path, taken ? `${target}.${now.getTime()}` : target), 'archive');
  }

  private timed<T>(promise: Promise<T>, phase: string, ms = this.options.operationTimeoutMs ?? 60_000): Promise<T> {
    return withTimeout(promise, ms).catch((err: unknown) => {
      if (err === TIMED_OUT) throw new SftpTimeoutError(`SFTP ${phase} on ${this.peer} timed out after ${ms} ms`, ms);
      throw err;
    });
  }
}
