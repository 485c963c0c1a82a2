import Database from 'better-sqlite3';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { BodyCipher } from './body-cipher';
import { configureConnection, SqliteBatchWriter } from './sqlite-batch-writer';
import { SETTLE_AFTER_MS, SETTLE_BACKLOG_ROWS, SETTLE_CHUNK_ROWS } from './sqlite-staging';
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
type Request = ({ id: number } & PackedOps) | { close: true } | { seal: { keys: Record<string, Uint8Array>; activeKeyId: string } };
export type WriterReply = { results: { id: number; changes?: number[]; error?: string }[] } | { closed: true };

const port = parentPort!;
const { file, autocheckpointPages } = workerData as { file: string; autocheckpointPages?: number };
const db = new Database(file);
configureConnection(db, autocheckpointPages);
const writer = new SqliteBatchWriter(db, { staging: true });
let settleQueued = false;
let settleTimer: NodeJS.Timeout | undefined;
let closed = false;
let failedAt = 0;

/**
 * Move staged rows into the indexed table (sqlite-staging.ts). A failure
 * leaves them staged (still durable, still readable), and moves pause for
 * SETTLE_AFTER_MS rather than retrying in a loop.
 */
function settle(limit?: number): void {
  if (limit === undefined && settleTimer) {
    clearTimeout(settleTimer);
    settleTimer = undefined;
  }
  try {
    writer.settle(limit);
  } catch {
    failedAt = Date.now();
  }
}

/**
 * Runs once the event loop has delivered what arrived during the last commit:
 * a waiting request goes first; otherwise one chunk moves, and the loop comes
 * back here while a chunk's worth is staged (less waits for the timer).
 */
function settleWhenIdle(): void {
  settleQueued = false;
  if (closed) return;
  const waiting = receiveMessageOnPort(port) as { message: Request } | undefined;
  if (waiting) {
    onRequest(waiting.message);
    return;
  }
  settle(SETTLE_CHUNK_ROWS);
  scheduleSettle();
}

function scheduleSettle(): void {
  if (closed || writer.staged === 0) return;
  const pausing = Date.now() - failedAt < SETTLE_AFTER_MS;
  if (writer.staged < SETTLE_CHUNK_ROWS || pausing) {
    settleTimer ??= setTimeout(() => {
      settleTimer = undefined;
      if (!closed) settle();
    }, SETTLE_AFTER_MS);
    return;
  }
  if (settleQueued) return;
  settleQueued = true;
  setImmediate(settleWhenIdle);
}

function describe(err: Error): string {
  return `${err.name}: ${(err as { code?: string }).code ?? ''}`;
}

function onRequest(first: Request): void {
  const requests: ({ id: number } & PackedOps)[] = [];
  let close = false;
  for (let m: Request | undefined = first; m !== undefined; m = (receiveMessageOnPort(port) as { message: Request } | undefined)?.message) {
    if ('close' in m) {
      // The client closes only once its writes have settled; anything after this is not ours to write.
      close = true;
      break;
    }
    if ('seal' in m) {
      // Sent once, before the first write; messages arrive in order, so every later row is sealed.
      const keys = Object.fromEntries(Object.entries(m.seal.keys).map(([id, k]) => [id, Buffer.from(k)]));
      writer.sealWith(new BodyCipher(keys, m.seal.activeKeyId));
      continue;
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
    // After the answers are out: a move delays the next commit, never this
    // one. A backlog (no quiet moment came for a while) moves a chunk after
    // every commit, so it shrinks ~40 times faster than commits add to it,
    // and no commit waits for more than one chunk's move.
    if (writer.staged >= SETTLE_BACKLOG_ROWS && Date.now() - failedAt >= SETTLE_AFTER_MS) settle(SETTLE_CHUNK_ROWS);
    scheduleSettle();
  }
  if (close) {
    settle();
    if (settleTimer) clearTimeout(settleTimer);
    closed = true;
    db.close();
    port.postMessage({ closed: true } satisfies WriterReply);
  }
}

port.on('message', onRequest);
