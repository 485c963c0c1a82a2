import type { Database as Db, Statement } from 'better-sqlite3';
import { MESSAGE_COLUMNS } from './backend';
import type { MessageRow, WriteOp } from './backend';
import type { StatusPatch } from './types';

/** Applies a group commit's ops in one transaction; used on the main thread or in the writer worker. */
export class SqliteBatchWriter {
  private readonly insertStmt: Statement;
  // One prepared UPDATE per shape of patch: preparing per call was a tenth of intake CPU.
  private readonly updateStmts = new Map<string, Statement>();
  private readonly tx: (ops: WriteOp[]) => number[];
  private readonly txMany: (batches: WriteOp[][]) => (number[] | Error)[];

  constructor(private readonly db: Db) {
    // Positional parameters: binding a named-parameter object looks every name up on each insert.
    this.insertStmt = db.prepare(`INSERT INTO hub_messages (${MESSAGE_COLUMNS}, body) VALUES (${Array(21).fill('?').join(', ')})`);
    this.tx = db.transaction((batch: WriteOp[]) =>
      batch.map((op) => (op.kind === 'insert' ? this.insert(op.row) : this.applyUpdate(op.id, op.patch, op.at))),
    );
    // Inside the outer transaction each batch runs in a savepoint (better-sqlite3 nests that way):
    // a batch that fails is rolled back alone and the others still commit, as if each had its own commit.
    this.txMany = db.transaction((batches: WriteOp[][]) =>
      batches.map((ops) => {
        try {
          return this.tx(ops);
        } catch (err) {
          // SQLite rolled back the whole transaction (I/O error, disk full): nothing in it may be reported stored.
          if (!db.inTransaction) throw err;
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    );
  }

  write(ops: WriteOp[]): number[] {
    return this.tx(ops);
  }

  /**
   * Several group commits in one transaction and one fsync; each batch
   * succeeds or fails on its own.
   *
   * @param batches - applied in order
   * @returns per batch, its per-op change counts or the error that rolled it back
   */
  writeMany(batches: WriteOp[][]): (number[] | Error)[] {
    if (batches.length === 1) {
      try {
        return [this.tx(batches[0]!)];
      } catch (err) {
        return [err instanceof Error ? err : new Error(String(err))];
      }
    }
    return this.txMany(batches);
  }

  private insert(r: MessageRow): number {
    return this.insertStmt.run(r.id, r.flowId, r.nodeId, r.direction, r.endpoint, r.controlId, r.messageType, r.sender, r.receiver, r.patientKey, r.status, r.contentType, r.parentId, r.attempts, r.errorCode, r.errorText, r.receivedAt, r.updatedAt, r.size, r.keyId, r.body ?? null).changes;
  }

  private applyUpdate(id: string, patch: StatusPatch, at: number): number {
    const sets = ['updated_at = ?'];
    const params: unknown[] = [at];
    if (patch.status !== undefined) {
      sets.push('status = ?');
      params.push(patch.status);
    }
    if (patch.errorCode !== undefined) {
      sets.push('error_code = ?');
      params.push(patch.errorCode);
    }
    if (patch.errorText !== undefined) {
      sets.push('error_text = ?');
      params.push(patch.errorText);
    }
    if (patch.incrementAttempts) sets.push('attempts = attempts + 1');
    params.push(id);
    const sql = `UPDATE hub_messages SET ${sets.join(', ')} WHERE id = ?`;
    let stmt = this.updateStmts.get(sql);
    if (!stmt) this.updateStmts.set(sql, (stmt = this.db.prepare(sql)));
    return stmt.run(...params).changes;
  }
}

/**
 * WAL pages after which a commit checkpoints by itself. With the checkpoint
 * thread running this is only a backstop (the thread stopped or cannot keep
 * up): 10,000 pages is a 40 MB WAL.
 */
export const BACKSTOP_AUTOCHECKPOINT_PAGES = 10_000;

/**
 * The pragmas every connection to the store file uses: WAL, and a commit is on disk before it returns.
 * @param autocheckpointPages - SQLite's wal_autocheckpoint; unset keeps its default (1,000 pages)
 */
export function configureConnection(db: Db, autocheckpointPages?: number): void {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  if (autocheckpointPages !== undefined) db.pragma(`wal_autocheckpoint = ${autocheckpointPages}`);
}
