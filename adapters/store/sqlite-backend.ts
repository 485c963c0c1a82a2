import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildWhere, MESSAGE_COLUMNS, rowFromDb } from './backend';
import type { MessageRow, RowFilter, RowQuery, StoreBackend, WriteOp } from './backend';
import type { BodyCipher } from './body-cipher';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, configureConnection, SqliteBatchWriter } from './sqlite-batch-writer';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import { SqliteWriterClient } from './sqlite-writer-client';
import { SQLITE_SCHEMA } from './sqlite-schema';
import { dropOrphanPatientEntries, migratePatientIndex, patientPageSql, patientSelectSql } from './sqlite-patient-index';
import { settleStaged, STAGED_TABLE } from './sqlite-staging';
import { SqliteAuditLog } from './sqlite-audit-log';
import { SqliteTokenRepository } from './sqlite-token-repository';
import type { MessageStatus, TimeBucketCount } from './types';

/**
 * Group commits handed to the writer thread ahead of its answers. The thread
 * merges everything queued when a commit returns into the next transaction,
 * so handing batches over eagerly costs no extra fsyncs. A small depth (2)
 * stops handing over while a commit runs, and the batch already waiting is
 * then often one event-loop turn's writes: an fsync for a message or two.
 */
const WRITER_PIPELINE_DEPTH = 16;
/** How often the checkpoint thread copies the WAL into the database file. */
const CHECKPOINT_INTERVAL_MS = 100;

/** ORDER BY received_at DESC, id DESC, for rows merged from the staging table and hub_messages. */
function newestFirst(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const byTime = Number(b.received_at) - Number(a.received_at);
  if (byTime !== 0) return byTime;
  // SQLite compares TEXT byte-wise (BINARY collation); ids are ASCII, where < agrees.
  return a.id === b.id ? 0 : (a.id as string) < (b.id as string) ? 1 : -1;
}

export interface SqliteBackendOptions {
  /** Database file; `:memory:` for throwaway tests. */
  file: string;
  /** Commit on a worker thread (default for files); false commits on the calling thread. */
  writerThread?: boolean;
}

/**
 * Embedded store on better-sqlite3. WAL with synchronous=FULL: a committed
 * transaction survives a process kill and a power cut. Group commits run on
 * a writer thread (for a file store): a commit and its fsync block only that
 * thread, so the event loop keeps reading sockets and writing ACKs, and the
 * next batch gathers while the disk works (measured: committing on the event
 * loop left the MLLP intake idle half the time). Reads, audit and tokens use
 * this thread's own connection; WAL lets them run beside the writer.
 */
export class SqliteBackend implements StoreBackend {
  readonly name = 'sqlite' as const;
  readonly audit: SqliteAuditLog;
  readonly tokens: SqliteTokenRepository;
  /**
   * The writer thread applies batches in the order sent and merges those that
   * queued during a commit, so the next one is handed over before the last
   * returns (profiled: with one batch in flight the writer thread sat idle 40%
   * of the time, waiting for the round trip to the event loop).
   */
  readonly pipelineDepth: number;
  private readonly db: Db;
  private readonly inline: SqliteBatchWriter | null;
  private readonly writer: SqliteWriterClient | null;
  private readonly checkpointer: SqliteCheckpointer | null;
  private closed = false;

  constructor(options: SqliteBackendOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.db = new Database(options.file);
    configureConnection(this.db);
    this.db.exec(SQLITE_SCHEMA);
    migratePatientIndex(this.db);
    // Rows a previous run staged and did not move yet (it stopped or crashed): moved before anything else writes.
    settleStaged(this.db);
    // Planner statistics, sampled so a large store still opens fast (~0.2 s at 1M rows). Without them
    // SQLite guesses, and a search that combines a selective key (patient, control id) with a common
    // column (type, status, endpoint) walks the common column's index: 0.5-1 s instead of 0.2 ms at
    // 1M rows (bench:search). prune() refreshes them as the table changes.
    this.db.pragma('analysis_limit = 1000');
    this.db.pragma('optimize = 0x10002');
    // An in-memory database is private to its connection, so it can only be written here.
    const useWorker = options.file !== ':memory:' && options.writerThread !== false;
    // With the writer thread, checkpoints run on a thread of their own (see sqlite-checkpoint-worker.ts);
    // every connection keeps only a backstop, so no commit, and no audit write on the event loop, does that work.
    if (useWorker) this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
    this.writer = useWorker ? new SqliteWriterClient(options.file, BACKSTOP_AUTOCHECKPOINT_PAGES) : null;
    this.checkpointer = useWorker ? new SqliteCheckpointer(options.file, CHECKPOINT_INTERVAL_MS) : null;
    this.inline = useWorker ? null : new SqliteBatchWriter(this.db);
    this.pipelineDepth = useWorker ? WRITER_PIPELINE_DEPTH : 1;
    this.audit = new SqliteAuditLog(this.db);
    this.tokens = new SqliteTokenRepository(this.db);
  }

  /**
   * With the writer thread, bodies are sealed there: AES-GCM setup and
   * encryption were about a tenth of the MLLP intake's event-loop time
   * (profiled, bench:mllp), and the writer thread had time to spare. Without
   * it (in-memory stores) the store seals them, on the same thread either way.
   */
  sealBodiesWith(cipher: BodyCipher): boolean {
    if (!this.writer) return false;
    this.writer.sealWith(cipher.keyMaterial());
    return true;
  }

  async init(): Promise<void> {
    const result = this.db.pragma('quick_check', { simple: true });
    if (result !== 'ok') throw new Error(`SQLite quick_check failed: ${String(result)}`);
  }

  write(ops: WriteOp[]): Promise<number[]> | number[] {
    return this.writer ? this.writer.write(ops) : this.inline!.write(ops);
  }

  async get(id: string, includeBody: boolean): Promise<MessageRow | null> {
    const columns = `${MESSAGE_COLUMNS}${includeBody ? ', body' : ''}`;
    // Staged first: a row moving meanwhile is then found in hub_messages by the second read.
    const row =
      this.db.prepare(`SELECT ${columns} FROM ${STAGED_TABLE} WHERE id = ?`).get(id) ??
      this.db.prepare(`SELECT ${columns} FROM hub_messages WHERE id = ?`).get(id);
    return row ? rowFromDb(row as Record<string, unknown>) : null;
  }

  async search(query: RowQuery): Promise<MessageRow[]> {
    const { sql, values } = buildWhere(query, () => '?', query.after);
    const all = (q: { sql: string; values: unknown[] }): Record<string, unknown>[] => this.db.prepare(q.sql).all(...q.values) as Record<string, unknown>[];
    const page = (table: string): Record<string, unknown>[] => all({ sql: `SELECT ${MESSAGE_COLUMNS} FROM ${table} ${sql} ORDER BY received_at DESC, id DESC LIMIT ?`, values: [...values, query.limit] });
    // hub_messages has no patient index of its own: its rows for a patient come from the patient index and its pending entries.
    const stored = (): Record<string, unknown>[][] => {
      if (query.patientKey === undefined) return [page('hub_messages')];
      const { indexed, pending } = patientPageSql({ ...query, patientKey: query.patientKey });
      return [all(indexed), all(pending)];
    };
    // One read transaction: every table from the same snapshot, so a row moving between them is seen once.
    const pages = this.db.transaction(() => [page(STAGED_TABLE), ...stored()])().filter((p) => p.length > 0);
    const rows = pages.length <= 1 ? (pages[0] ?? []) : pages.flat().sort(newestFirst).slice(0, query.limit);
    return rows.map((r) => rowFromDb(r));
  }

  async count(filter: RowFilter): Promise<number> {
    const count = (q: { sql: string; values: unknown[] }): number => (this.db.prepare(q.sql).get(...q.values) as { n: number }).n;
    return this.db.transaction(() => this.selects('COUNT(*) AS n', filter).reduce((n, q) => n + count(q), 0))();
  }

  async countByTime(filter: RowFilter, bucketMs: number): Promise<TimeBucketCount[]> {
    if (!Number.isInteger(bucketMs) || bucketMs < 1) throw new Error(`bucket width must be a positive whole number of ms, got ${bucketMs}`);
    const columns = `CAST(received_at / ${bucketMs} AS INTEGER) AS bucket, COUNT(*) AS total, SUM(direction = 'inbound') AS inbound, SUM(status = 'error') AS errored`;
    const parts = this.db.transaction(() => this.selects(columns, filter, ' GROUP BY bucket').flatMap((q) => this.db.prepare(q.sql).all(...q.values) as TimeBucketCount[]))();
    const byBucket = new Map<number, TimeBucketCount>();
    for (const p of parts) {
      const b = byBucket.get(p.bucket) ?? { bucket: p.bucket, total: 0, inbound: 0, errored: 0 };
      b.total += p.total;
      b.inbound += p.inbound;
      b.errored += p.errored;
      byBucket.set(p.bucket, b);
    }
    return [...byBucket.values()].sort((a, b) => a.bucket - b.bucket);
  }

  /** `SELECT columns` over every row matching `filter`: the staging table, and hub_messages (through the patient index for a patient). */
  private selects(columns: string, filter: RowFilter, groupBy = ''): { sql: string; values: unknown[] }[] {
    const { sql, values } = buildWhere(filter, () => '?');
    const stored =
      filter.patientKey === undefined ? [{ sql: `SELECT ${columns} FROM hub_messages ${sql}${groupBy}`, values }] : patientSelectSql(columns, { ...filter, patientKey: filter.patientKey }, groupBy);
    return [{ sql: `SELECT ${columns} FROM ${STAGED_TABLE} ${sql}${groupBy}`, values }, ...stored];
  }

  async prune(cutoffs: { status: MessageStatus; before: number }[]): Promise<number> {
    const stmts = [STAGED_TABLE, 'hub_messages'].map((table) => this.db.prepare(`DELETE FROM ${table} WHERE status = ? AND updated_at < ?`));
    let deleted = 0;
    this.db.transaction(() => {
      for (const c of cutoffs) for (const stmt of stmts) deleted += stmt.run(c.status, c.before).changes;
      // Merged entries go with their rows (a delete trigger); pending ones are swept here.
      if (deleted > 0) dropOrphanPatientEntries(this.db);
    })();
    this.db.pragma('optimize');
    return deleted;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.checkpointer?.close();
    await this.writer?.close();
    this.db.close();
  }
}
