import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import type { WriteOp } from './backend';
import { configureConnection, SqliteBatchWriter } from './sqlite-batch-writer';

/**
 * The store's writer thread: runs each group commit (and its fsync) off the
 * event loop, so sockets keep being read and ACKs written while the disk
 * works, and the next batch gathers meanwhile.
 */
const db = new Database((workerData as { file: string }).file);
configureConnection(db);
const writer = new SqliteBatchWriter(db);

parentPort!.on('message', (m: { id: number; ops: WriteOp[] } | { close: true }) => {
  if ('close' in m) {
    db.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  try {
    // Buffers arrive as plain Uint8Arrays after the structured clone.
    for (const op of m.ops) if (op.kind === 'insert' && op.row.body) op.row.body = Buffer.from(op.row.body.buffer, op.row.body.byteOffset, op.row.body.byteLength);
    parentPort!.postMessage({ id: m.id, changes: writer.write(m.ops) });
  } catch (err) {
    parentPort!.postMessage({ id: m.id, error: err instanceof Error ? `${err.name}: ${(err as { code?: string }).code ?? ''}` : 'write failed' });
  }
});
