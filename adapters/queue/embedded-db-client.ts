import type { Worker } from 'node:worker_threads';
import { startWorker } from '../shared/start-worker';
import { EmbeddedDb } from './embedded-db';
import type { DeadRow, EmbeddedOp, OpResult } from './embedded-db';
import type { DeadLetterFilter } from './types';

export interface EmbeddedStats {
  ready: number;
  delayed: number;
  inFlight: number;
  dead: number;
  oldest: number | null;
}

/** The embedded queue's database, asynchronous so it can live on another thread. */
export interface EmbeddedDbApi {
  /** Checks the file and takes back leases of a previous run; resolves to how many. */
  open(now: number): Promise<number>;
  qid(name: string): Promise<number>;
  write(ops: EmbeddedOp[]): Promise<OpResult[]>;
  nextDue(qid: number): Promise<number | null>;
  stats(qid: number, now: number): Promise<EmbeddedStats>;
  deadLetter(qid: number, id: string, includeBody: boolean): Promise<DeadRow | null>;
  deadBody(seq: number): Promise<Buffer | null>;
  listDead(qid: number, filter: DeadLetterFilter, afterSeq: number, limit: number): Promise<DeadRow[]>;
  deleteQueue(qid: number, name: string): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

type Method = Exclude<keyof EmbeddedDbApi, 'close' | 'qid'> | 'qid';

/** Runs the SQL on the calling thread (the in-memory test double, and where threads are not wanted). */
export class InlineEmbeddedDb implements EmbeddedDbApi {
  private readonly db: EmbeddedDb;

  constructor(file: string) {
    this.db = new EmbeddedDb(file);
  }

  async open(now: number): Promise<number> {
    return this.db.open(now);
  }
  async qid(name: string): Promise<number> {
    return this.db.qid(name);
  }
  async write(ops: EmbeddedOp[]): Promise<OpResult[]> {
    return this.db.write(ops);
  }
  async nextDue(qid: number): Promise<number | null> {
    return this.db.nextDue(qid);
  }
  async stats(qid: number, now: number): Promise<EmbeddedStats> {
    return this.db.stats(qid, now);
  }
  async deadLetter(qid: number, id: string, includeBody: boolean): Promise<DeadRow | null> {
    return this.db.deadLetter(qid, id, includeBody);
  }
  async deadBody(seq: number): Promise<Buffer | null> {
    return this.db.deadBody(seq);
  }
  async listDead(qid: number, filter: DeadLetterFilter, afterSeq: number, limit: number): Promise<DeadRow[]> {
    return this.db.listDead(qid, filter, afterSeq, limit);
  }
  async deleteQueue(qid: number, name: string): Promise<void> {
    this.db.deleteQueue(qid, name);
  }
  async ping(): Promise<void> {
    this.db.ping();
  }
  async close(): Promise<void> {
    this.db.close();
  }
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Runs the SQL on a worker thread. better-sqlite3 is synchronous: on the
 * main thread every group commit (and every WAL checkpoint, which copies
 * pages and fsyncs the database file) would stall the event loop that
 * Node-RED's flows, the HTTP API and the consumers' handlers share. On its
 * own thread the database works while the main thread encrypts, decrypts
 * and runs handlers. Calls are answered in order; bodies are copied across.
 */
export class WorkerEmbeddedDb implements EmbeddedDbApi {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly qids = new Map<string, number>();
  private nextId = 1;
  private failure: Error | null = null;
  private closed = false;

  constructor(file: string) {
    this.worker = startWorker(__dirname, 'embedded-db-worker', { file });
    this.worker.on('message', (m: { id: number; result?: unknown; error?: { name: string; message: string; code?: string } }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { name: m.error.name, code: m.error.code }));
      else p.resolve(m.result);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => {
      if (!this.closed) this.fail(new Error(`the embedded queue's database thread exited (${code})`));
    });
  }

  private fail(err: Error): void {
    this.failure = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }

  private call<T>(method: Method | 'close', args: unknown[]): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ id, method, args });
    });
  }

  open(now: number): Promise<number> {
    return this.call('open', [now]);
  }
  async qid(name: string): Promise<number> {
    let id = this.qids.get(name);
    if (id === undefined) {
      id = await this.call<number>('qid', [name]);
      this.qids.set(name, id);
    }
    return id;
  }
  async write(ops: EmbeddedOp[]): Promise<OpResult[]> {
    const results = await this.call<OpResult[]>('write', [ops]);
    for (const r of results) if (Array.isArray(r)) for (const row of r) row.body = asBuffer(row.body);
    return results;
  }
  nextDue(qid: number): Promise<number | null> {
    return this.call('nextDue', [qid]);
  }
  stats(qid: number, now: number): Promise<EmbeddedStats> {
    return this.call('stats', [qid, now]);
  }
  async deadLetter(qid: number, id: string, includeBody: boolean): Promise<DeadRow | null> {
    const row = await this.call<DeadRow | null>('deadLetter', [qid, id, includeBody]);
    if (row?.body) row.body = asBuffer(row.body);
    return row;
  }
  async deadBody(seq: number): Promise<Buffer | null> {
    const body = await this.call<Uint8Array | null>('deadBody', [seq]);
    return body ? asBuffer(body) : null;
  }
  listDead(qid: number, filter: DeadLetterFilter, afterSeq: number, limit: number): Promise<DeadRow[]> {
    return this.call('listDead', [qid, filter, afterSeq, limit]);
  }
  async deleteQueue(qid: number, name: string): Promise<void> {
    await this.call('deleteQueue', [qid, name]);
    this.qids.delete(name);
  }
  ping(): Promise<void> {
    return this.call('ping', []);
  }
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (!this.failure) await this.call('close', []);
    } finally {
      this.closed = true;
      await this.worker.terminate();
    }
  }
}

/** Structured clone turns a Buffer into a plain Uint8Array; view the same bytes as a Buffer again. */
function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}
