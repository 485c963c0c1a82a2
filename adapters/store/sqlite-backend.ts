import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { buildWhere, MESSAGE_COLUMNS, rowFromDb } from './backend';
import type { MessageRow, RowFilter, RowQuery, StoreBackend, WriteOp } from './backend';
import { BACKSTOP_AUTOCHECKPOINT_PAGES, configureConnection, SqliteBatchWriter } from './sqlite-batch-writer';
import { SqliteCheckpointer } from './sqlite-checkpointer';
import { SqliteWriterClient } from './sqlite-writer-client';
import { SQLITE_SCHEMA } from './sqlite-schema';
import { SqliteAuditLog } from './sqlite-audit-log';
import { SqliteTokenRepository } from './sqlite-token-repository';
import type { MessageStatus } from './types';

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

  async init(): Promise<void> {
    const result = this.db.pragma('quick_check', { simple: true });
    if (result !== 'ok') throw new Error(`SQLite quick_check failed: ${String(result)}`);
  }

  write(ops: WriteOp[]): Promise<number[]> | number[] {
    return this.writer ? this.writer.write(ops) : this.inline!.write(ops);
  }

  async get(id: string, includeBody: boolean): Promise<MessageRow | null> {
    const row = this.db.prepare(`SELECT ${MESSAGE_COLUMNS}${includeBody ? ', body' : ''} FROM hub_messages WHERE id = ?`).get(id);
    return row ? rowFromDb(row as Record<string, unknown>) : null;
  }

  async search(query: RowQuery): Promise<MessageRow[]> {
    const { sql, values } = buildWhere(query, () => '?', query.after);
    const rows = this.db
      .prepare(`SELECT ${MESSAGE_COLUMNS} FROM hub_messages ${sql} ORDER BY received_at DESC, id DESC LIMIT ?`)
      .all(...values, query.limit);
    return rows.map((r) => rowFromDb(r as Record<string, unknown>));
  }

  async count(filter: RowFilter): Promise<number> {
    const { sql, values } = buildWhere(filter, () => '?');
    const row = this.db.prepare(`SELECT COUNT(*) AS n FROM hub_messages ${sql}`).get(...values) as { n: number };
    return row.n;
  }

  async prune(cutoffs: { status: MessageStatus; before: number }[]): Promise<number> {
    const stmt = this.db.prepare('DELETE FROM hub_messages WHERE status = ? AND updated_at < ?');
    let deleted = 0;
    this.db.transaction(() => {
      for (const c of cutoffs) deleted += stmt.run(c.status, c.before).changes;
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
