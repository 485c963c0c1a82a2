import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { WriteOp } from './backend';

/** Starts the worker from compiled JavaScript; under the test runner (TypeScript sources) compiles it on the fly with swc. */
const TS_BOOT = [
  "const fs = require('node:fs'); const swc = require('@swc/core'); const { workerData } = require('node:worker_threads');",
  "require.extensions['.ts'] = (m, f) => m._compile(swc.transformSync(fs.readFileSync(f, 'utf8'), { filename: f, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }).code, f);",
  'require(workerData.entry);',
].join('\n');

/** Sends group commits to the writer thread and answers each with its per-op change counts. */
export class SqliteWriterClient {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (c: number[]) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failed: Error | null = null;

  constructor(file: string) {
    const entry = join(__dirname, `sqlite-writer-worker${__filename.endsWith('.ts') ? '.ts' : '.js'}`);
    this.worker = entry.endsWith('.ts') ? new Worker(TS_BOOT, { eval: true, workerData: { entry, file } }) : new Worker(entry, { workerData: { file } });
    this.worker.on('message', (m: { id?: number; changes?: number[]; error?: string; closed?: boolean }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`store writer: ${m.error}`));
      else p.resolve(m.changes ?? []);
    });
    const fail = (err: Error): void => {
      this.failed = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', (err) => fail(err));
    this.worker.on('exit', (code) => fail(new Error(`store writer exited (${code})`)));
  }

  write(ops: WriteOp[]): Promise<number[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<number[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, ops });
    });
  }

  async close(): Promise<void> {
    if (this.failed) return;
    const closed = new Promise<void>((resolve) => {
      this.worker.once('message', () => resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage({ close: true });
    await closed;
    await this.worker.terminate();
  }
}
