import Database from 'better-sqlite3';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { configureConnection, SqliteBatchWriter } from './sqlite-batch-writer';
import { SETTLE_AFTER_MS, SETTLE_ROWS } from './sqlite-staging';
import { unpackOps } from './sqlite-write-codec';
import type { PackedOps } from './sqlite-write-codec';

/**
 * The store's writer thread: runs each group commit (and its fsync) off the
 * event loop, so sockets keep being read and ACKs written while the disk
 * works. Every batch that queued up while a commit was running goes into the
 * next transaction together, taken straight off the port: the thread starts
 * the next commit the moment the previous one returns, and one fsync serves
 * all of them.
 */
type Request = ({ id: number } & PackedOps) | { close: true };
export type WriterReply = { results: { id: number; changes?: number[]; error?: string }[] } | { closed: true };

const port = parentPort!;
const { file, autocheckpointPages } = workerData as { file: string; autocheckpointPages?: number };
const db = new Database(file);
configureConnection(db, autocheckpointPages);
const writer = new SqliteBatchWriter(db, { staging: true });
let settleTimer: NodeJS.Timeout | undefined;

/** Move staged rows into the indexed table (sqlite-staging.ts); a failure leaves them staged for the next try. */
function settle(): void {
  if (settleTimer) clearTimeout(settleTimer);
  settleTimer = undefined;
  try {
    writer.settle();
  } catch {
    // Still staged, still durable and still readable; the next write or idle moment retries.
  }
}

function describe(err: Error): string {
  return `${err.name}: ${(err as { code?: string }).code ?? ''}`;
}

port.on('message', (first: Request) => {
  const requests: ({ id: number } & PackedOps)[] = [];
  let close = false;
  for (let m: Request | undefined = first; m !== undefined; m = (receiveMessageOnPort(port) as { message: Request } | undefined)?.message) {
    if ('close' in m) {
      // The client closes only once its writes have settled; anything after this is not ours to write.
      close = true;
      break;
    }
    requests.push(m);
  }
  if (requests.length > 0) {
    let results: WriterReply;
    try {
      const outcomes = writer.writeMany(requests.map((r) => unpackOps(r)));
      results = { results: requests.map((r, i) => (outcomes[i] instanceof Error ? { id: r.id, error: describe(outcomes[i] as Error) } : { id: r.id, changes: outcomes[i] as number[] })) };
    } catch (err) {
      const error = err instanceof Error ? describe(err) : 'write failed';
      results = { results: requests.map((r) => ({ id: r.id, error })) };
    }
    port.postMessage(results);
    // After the answers are out: the move delays the next commit, never this one.
    if (writer.staged >= SETTLE_ROWS) settle();
    else if (writer.staged > 0 && !settleTimer) settleTimer = setTimeout(settle, SETTLE_AFTER_MS);
  }
  if (close) {
    settle();
    db.close();
    port.postMessage({ closed: true } satisfies WriterReply);
  }
});
