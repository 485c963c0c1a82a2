import type { Database as Db } from 'better-sqlite3';
import { MESSAGE_COLUMNS } from './backend';
import { queuePatientEntries } from './sqlite-patient-index';

/**
 * Intake staging for the SQLite store.
 *
 * A new message row is committed first into `hub_messages_staged`, a table
 * with one small index (the id), and moved into `hub_messages` with its search
 * indexes later, 128 rows per transaction. The commit a
 * sender waits for then dirties two or three pages instead of fifteen (one
 * per index, each a 4 KB WAL frame written and synced), and status updates
 * to a row still staged touch no search index at all. Measured on the MLLP
 * intake (bench:mllp): the writer thread's CPU per message fell by a third.
 *
 * The staged row is as durable as any other: it is committed before the
 * insert resolves, survives a crash and is moved when the store next opens.
 * Readers see both tables (see SqliteBackend), so a message is searchable
 * the moment its insert resolves. The writer moves rows in chunks when no
 * commit is waiting, so under load the move fills the gaps between commits
 * instead of holding them up.
 */
export const STAGED_TABLE = 'hub_messages_staged';

/**
 * Rows moved per transaction, once that many are staged, in a moment when no
 * commit is waiting. Measured (bench:mllp, 8 senders): 128 at a time kept the
 * p99 ACK latency near 4 ms; 16 at a time cost a tenth of the throughput (the
 * moved rows' status updates then hit the indexed table), and 256 at once
 * whenever the count was reached held every sender up for ~4 ms.
 */
export const SETTLE_CHUNK_ROWS = 128;
/** Rows staged after which the writer moves a chunk after every commit, even with the next commit waiting (it found no quiet moment). */
export const SETTLE_BACKLOG_ROWS = 1024;
/** Longest a staged row waits for the move when traffic is too light to fill a chunk. */
export const SETTLE_AFTER_MS = 1000;

const COLUMNS = `${MESSAGE_COLUMNS}, body`;

/**
 * Runs `work` (its own transaction) committed without its own fsync
 * (synchronous=NORMAL for it alone). For work that only rearranges rows
 * already durable elsewhere in the store: lost to a power cut, it leaves them
 * where they were, and the WAL is append-only, so the next durable commit
 * syncs it with itself.
 */
export function withoutOwnSync<T>(db: Db, work: () => T): T {
  db.pragma('synchronous = NORMAL');
  try {
    return work();
  } finally {
    db.pragma('synchronous = FULL');
  }
}

/**
 * Moves staged rows into `hub_messages`, oldest first, in one transaction,
 * without its own fsync (withoutOwnSync: every row it moves is already
 * durable in the staging table). This keeps a move cheap enough to run in the
 * gaps between commits. The moved rows' patient keys are queued for the
 * patient index in the same transaction (sqlite-patient-index.ts).
 *
 * @param db - a connection to the store (the writer's, or the opening one before the writer starts)
 * @param limit - most rows to move; all when absent
 * @returns rows moved, and patient index entries queued for them
 */
export function settleStaged(db: Db, limit?: number): { moved: number; queued: number } {
  const oldest = limit === undefined ? '' : ` LIMIT ${Math.max(1, Math.floor(limit))}`;
  return withoutOwnSync(db, () =>
    db.transaction(() => {
      const moved = db.prepare(`INSERT INTO hub_messages (${COLUMNS}) SELECT ${COLUMNS} FROM ${STAGED_TABLE} ORDER BY rowid${oldest}`).run().changes;
      if (moved === 0) return { moved, queued: 0 };
      const queued = queuePatientEntries(db, STAGED_TABLE, oldest);
      db.prepare(`DELETE FROM ${STAGED_TABLE} WHERE rowid IN (SELECT rowid FROM ${STAGED_TABLE} ORDER BY rowid${oldest})`).run();
      return { moved, queued };
    })(),
  );
}
