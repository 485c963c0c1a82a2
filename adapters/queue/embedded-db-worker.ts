/**
 * Entry of the embedded queue's database thread (see WorkerEmbeddedDb): owns
 * the better-sqlite3 connection and answers calls in the order they arrive.
 * Errors go back as name, message and code only.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EmbeddedDb } from './embedded-db';

const db = new EmbeddedDb((workerData as { file: string }).file);
const port = parentPort!;

/** better-sqlite3 binds Buffers; structured clone delivered plain Uint8Arrays. */
function buffers(ops: unknown): unknown {
  for (const op of ops as { body?: Uint8Array; insert?: { body: Uint8Array } }[]) {
    if (op.body) op.body = Buffer.from(op.body.buffer, op.body.byteOffset, op.body.byteLength);
    if (op.insert) op.insert.body = Buffer.from(op.insert.body.buffer, op.insert.body.byteOffset, op.insert.body.byteLength);
  }
  return ops;
}

port.on('message', (m: { id: number; method: string; args: unknown[] }) => {
  try {
    const fn = (db as unknown as Record<string, (...a: unknown[]) => unknown>)[m.method];
    if (typeof fn !== 'function') throw new Error(`unknown call ${m.method}`);
    const result = fn.apply(db, m.method === 'write' ? [buffers(m.args[0])] : m.args);
    port.postMessage({ id: m.id, result: result === undefined ? null : result });
    if (m.method === 'close') port.close();
  } catch (err) {
    const e = err as { name?: string; message?: string; code?: unknown };
    port.postMessage({ id: m.id, error: { name: e.name ?? 'Error', message: e.message ?? String(err), code: typeof e.code === 'string' ? e.code : undefined } });
  }
});
