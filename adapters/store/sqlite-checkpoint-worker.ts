import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { configureConnection } from './sqlite-batch-writer';

/**
 * The store's checkpoint thread: copies committed WAL frames into the
 * database file every `intervalMs` with a PASSIVE checkpoint, which never
 * blocks or waits for the writer. Left to SQLite's automatic checkpoint, that
 * copy (and two more fsyncs) ran inside whichever commit crossed 1,000 WAL
 * pages, on the writer thread, holding up every ACK waiting on that commit.
 * Once the WAL is fully copied, the writer's next transaction starts it over
 * from the top, so it stays small and its fsyncs stay cheap. Same pragmas as
 * the writer: with synchronous=FULL the copied pages are synced before the
 * WAL they came from can be overwritten.
 */
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const port = parentPort!;
const db = new Database(file);
configureConnection(db);

const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Nothing is lost: the frames stay in the WAL, and the writer's own checkpoint (the backstop) still runs.
  }
}, intervalMs);

port.on('message', (m: { close?: true }) => {
  if (!m.close) return;
  clearInterval(timer);
  db.close();
  port.postMessage({ closed: true });
});
