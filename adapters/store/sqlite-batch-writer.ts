import { SqliteError } from 'better-sqlite3';
import type { Database as Db, Statement } from 'better-sqlite3';
import { MESSAGE_COLUMNS } from './backend';
import type { MessageRow, WriteOp } from './backend';
import type { BodyCipher } from './body-cipher';
import { indexPatientEntry, mergePatientEntries, PATIENT_MERGE_ROWS, pendingPatientEntries } from './sqlite-patient-index';
import { settleStaged, STAGED_TABLE, withoutOwnSync } from './sqlite-staging';
import type { StatusPatch } from './types';

export interface SqliteBatchWriterOptions {
  /**
   * Insert into the staging table and move rows into `hub_messages` with
   * `settle()` (see sqlite-staging.ts). Off: insert straight into `hub_messages`.
   */
  staging?: boolean;
}

/** Applies a group commit's ops in one transaction; used on the main thread or in the writer worker. */
export class SqliteBatchWriter {
  private readonly insertStmt: Statement;
  private readonly storedStmt: Statement | null;
  // One prepared UPDATE per table and shape of patch: preparing per call was a tenth of intake CPU.
  private readonly updateStmts = new Map<string, Statement>();
  private readonly tables: readonly string[];
  private readonly tx: (ops: WriteOp[]) => number[];
  private readonly txMany: (batches: WriteOp[][]) => (number[] | Error)[];
  private stagedRows = 0;
  /** Patient index entries waiting for a merge (sqlite-patient-index.ts); counted at start, then kept here. */
  private pendingPatients: number;
  /** Without staging a row goes straight into hub_messages, and its patient index entry with it. */
  private readonly indexPatient: ((patientKey: string, receivedAt: number, id: string) => void) | null;
  /** Set when the store hands over plaintext bodies for this writer to seal (StoreBackend.sealBodiesWith). */
  private sealer: BodyCipher | null = null;

  constructor(
    private readonly db: Db,
    options: SqliteBatchWriterOptions = {},
  ) {
    const staging = options.staging === true;
    const target = staging ? STAGED_TABLE : 'hub_messages';
    // A staged row is updated in the staging table while it is there, in hub_messages once it has moved.
    this.tables = staging ? [STAGED_TABLE, 'hub_messages'] : ['hub_messages'];
    // Positional parameters: binding a named-parameter object looks every name up on each insert.
    this.insertStmt = db.prepare(`INSERT INTO ${target} (${MESSAGE_COLUMNS}, body) VALUES (${Array(21).fill('?').join(', ')})`);
    // The staging table's own unique index cannot see ids already moved: those are checked here.
    this.storedStmt = staging ? db.prepare('SELECT 1 FROM hub_messages WHERE id = ?').pluck() : null;
    this.pendingPatients = staging ? pendingPatientEntries(db) : 0;
    this.indexPatient = staging ? null : indexPatientEntry(db);
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

  /** Rows inserted since the last `settle()` (an estimate: it counts inserts of batches that rolled back too). */
  get staged(): number {
    return this.stagedRows;
  }

  /** Patient index entries queued and not merged yet. */
  get pendingPatientEntries(): number {
    return this.pendingPatients;
  }

  /**
   * Moves staged rows into `hub_messages` (one transaction; see
   * settleStaged), then, once PATIENT_MERGE_ROWS patient index entries are
   * pending, merges them (a second transaction). A no-op without staging.
   * @param limit - most rows to move, oldest first; all when absent
   * @returns rows moved
   */
  settle(limit?: number): number {
    if (this.tables.length === 1) return 0;
    const { moved, queued } = settleStaged(this.db, limit);
    this.stagedRows = limit === undefined || moved < limit ? 0 : Math.max(0, this.stagedRows - moved);
    this.pendingPatients += queued;
    if (this.pendingPatients >= PATIENT_MERGE_ROWS) this.mergePatients();
    return moved;
  }

  /** Merges the pending patient index entries (without its own fsync: they are durable where they are). */
  mergePatients(): void {
    withoutOwnSync(this.db, () => mergePatientEntries(this.db));
    this.pendingPatients = 0;
  }

  /**
   * From now on every inserted body arrives in plaintext and is sealed here,
   * before its transaction begins (see StoreBackend.sealBodiesWith).
   */
  sealWith(cipher: BodyCipher): void {
    this.sealer = cipher;
  }

  write(ops: WriteOp[]): number[] {
    this.seal(ops);
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
    for (const ops of batches) this.seal(ops);
    if (batches.length === 1) {
      try {
        return [this.tx(batches[0]!)];
      } catch (err) {
        return [err instanceof Error ? err : new Error(String(err))];
      }
    }
    return this.txMany(batches);
  }

  /** Outside the transaction: the write lock is held for SQLite's work only. */
  private seal(ops: WriteOp[]): void {
    if (!this.sealer) return;
    for (const op of ops) {
      if (op.kind !== 'insert' || !op.row.body) continue;
      const { keyId, sealed } = this.sealer.seal(op.row.body, op.row.id);
      op.row.body = sealed;
      op.row.keyId = keyId;
    }
  }

  private insert(r: MessageRow): number {
    if (this.storedStmt) {
      if (this.storedStmt.get(r.id) !== undefined) throw new SqliteError('UNIQUE constraint failed: hub_messages.id', 'SQLITE_CONSTRAINT_PRIMARYKEY');
      this.stagedRows++;
    }
    const changes = this.insertStmt.run(r.id, r.flowId, r.nodeId, r.direction, r.endpoint, r.controlId, r.messageType, r.sender, r.receiver, r.patientKey, r.status, r.contentType, r.parentId, r.attempts, r.errorCode, r.errorText, r.receivedAt, r.updatedAt, r.size, r.keyId, r.body ?? null).changes;
    if (this.indexPatient && r.patientKey !== null) this.indexPatient(r.patientKey, r.receivedAt, r.id);
    return changes;
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
    const assignments = sets.join(', ');
    for (const table of this.tables) {
      const sql = `UPDATE ${table} SET ${assignments} WHERE id = ?`;
      let stmt = this.updateStmts.get(sql);
      if (!stmt) this.updateStmts.set(sql, (stmt = this.db.prepare(sql)));
      const changes = stmt.run(...params).changes;
      if (changes > 0) return changes;
    }
    return 0;
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
