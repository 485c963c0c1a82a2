import Database from 'better-sqlite3';
import type { Database as Db } from 'better-sqlite3';
import { ControlNumberError } from './errors';
import { advance } from './control-numbers';
import type { ControlNumberKind, ControlNumberSource } from './control-numbers';

export interface SqliteControlNumberOptions {
  /** Database file; created if missing. Keep it in the hub's data dir so numbers survive restarts. */
  path: string;
  /** Sequence namespace, normally the ISA06 sender ID: each trading-partner identity has its own numbers. */
  scope: string;
  /** Wait this long for another process holding the write lock (default 5000). */
  busyTimeoutMs?: number;
}

export interface SqliteControlNumberDeps {
  /** Opens the database; tests may pass one that fails. */
  open?: (path: string) => Db;
}

/**
 * Control numbers in SQLite. Each reservation is one `BEGIN IMMEDIATE`
 * transaction (read, advance, write), so two hubs or two flows sharing the
 * file never get the same number; WAL with synchronous=FULL makes a number
 * durable before it is used, so a crash cannot hand it out again.
 */
export class SqliteControlNumberSource implements ControlNumberSource {
  private db: Db | null;
  private readonly reserve: (kind: ControlNumberKind, count: number) => number[];

  constructor(
    private readonly options: SqliteControlNumberOptions,
    deps: SqliteControlNumberDeps = {},
  ) {
    const open = deps.open ?? ((p: string) => new Database(p));
    try {
      const db = open(options.path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}`);
      db.exec(`CREATE TABLE IF NOT EXISTS x12_control_numbers (
        scope TEXT NOT NULL,
        kind TEXT NOT NULL,
        last INTEGER NOT NULL,
        PRIMARY KEY (scope, kind)
      )`);
      const select = db.prepare<[string, string], { last: number }>('SELECT last FROM x12_control_numbers WHERE scope = ? AND kind = ?');
      const upsert = db.prepare('INSERT INTO x12_control_numbers (scope, kind, last) VALUES (?, ?, ?) ON CONFLICT (scope, kind) DO UPDATE SET last = excluded.last');
      const txn = db.transaction((kind: ControlNumberKind, count: number): number[] => {
        const last = select.get(options.scope, kind)?.last ?? 0;
        const numbers = advance(last, count);
        upsert.run(options.scope, kind, numbers[numbers.length - 1] ?? last);
        return numbers;
      });
      this.reserve = (kind, count) => txn.immediate(kind, count);
      this.db = db;
    } catch (err) {
      throw new ControlNumberError('control-number database could not be opened', { cause: err });
    }
  }

  async next(kind: ControlNumberKind, count = 1): Promise<number[]> {
    if (!this.db) throw new ControlNumberError('control-number source is closed');
    if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
    try {
      return this.reserve(kind, count);
    } catch (err) {
      throw new ControlNumberError(`could not reserve ${kind} control number`, { cause: err });
    }
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    db?.close();
  }
}
