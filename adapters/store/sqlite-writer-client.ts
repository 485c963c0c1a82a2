import type { Worker } from 'node:worker_threads';
import { startWorker } from '../shared/start-worker';
import type { WriteOp } from './backend';
import { packOps } from './sqlite-write-codec';
import type { WriterReply } from './sqlite-writer-worker';

/**
 * Sends group commits to the writer thread and answers each with its per-op
 * change counts. Several may be outstanding: the thread applies them in the
 * order sent.
 */
export class SqliteWriterClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (c: number[]) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | null = null;

  /**
   * @param file - the store file
   * @param autocheckpointPages - wal_autocheckpoint for the writer's connection (SQLite's default when unset)
   */
  constructor(file: string, autocheckpointPages?: number) {
    this.worker = startWorker(__dirname, 'sqlite-writer-worker', { file, ...(autocheckpointPages !== undefined ? { autocheckpointPages } : {}) });
    this.worker.on('message', (m: WriterReply) => {
      if (!('results' in m)) return;
      for (const r of m.results) {
        const p = this.pending.get(r.id);
        if (!p) continue;
        this.pending.delete(r.id);
        if (r.error !== undefined) p.reject(new Error(`store writer: ${r.error}`));
        else p.resolve(r.changes ?? []);
      }
    });
    const fail = (err: Error): void => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(err));
    this.worker.on('exit', (code) => fail(new Error(`store writer exited (${code})`)));
  }

  /** The writer thread seals every body of later writes with these keys (StoreBackend.sealBodiesWith). */
  sealWith(material: { keys: Record<string, Uint8Array>; activeKeyId: string }): void {
    this.worker.postMessage({ seal: material });
  }

  write(ops: WriteOp[]): Promise<number[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    const { flat, bodies } = packOps(ops);
    return new Promise<number[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, flat, bodies }, [bodies]);
    });
  }

  async close(): Promise<void> {
    if (this.failed) return;
    const closed = new Promise<void>((resolve) => {
      this.worker.on('message', (m: WriterReply) => {
        if ('closed' in m) resolve();
      });
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage({ close: true });
    await closed;
    await this.worker.terminate();
  }
}
