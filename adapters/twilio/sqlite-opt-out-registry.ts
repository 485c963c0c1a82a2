import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { openSqlite } from '../phi-guard/sqlite-file';
import type { SqliteTarget } from '../phi-guard/sqlite-file';
import { checkedSecret, optOutKey } from './opt-out-registry';
import type { OptOutEntry, OptOutRegistry, OptOutSource } from './opt-out-registry';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sms_opt_outs (
  address_key TEXT PRIMARY KEY,
  opted_out   INTEGER NOT NULL,
  changed_at  INTEGER NOT NULL,
  source      TEXT NOT NULL
) WITHOUT ROWID;
`;

export interface SqliteOptOutOptions {
  /**
   * Key for the keyed hash phone numbers are stored under (at least 32
   * bytes). A phone number is PHI next to a clinic's name, so the file holds
   * HMAC-SHA256(secret, number), never the number; lookups hash the same way.
   * The hub's patient-key secret may be reused: the hash is domain-separated.
   */
  secret: Buffer;
}

/**
 * The opt-out registry in SQLite: durable (WAL, synchronous=FULL), no
 * plaintext numbers. Pass `{ file }` (e.g. `<HUB_DATA_DIR>/providers.db`) or
 * an open `{ db }`.
 */
export class SqliteOptOutRegistry implements OptOutRegistry {
  private readonly db: Db;
  private readonly owned: boolean;
  private readonly secret: Buffer;
  private readonly select: Statement<[string]>;
  private readonly write: Statement<[string, number, number, string]>;
  private readonly setTx: Transaction<(key: string, optedOut: boolean, at: number, source: OptOutSource) => void>;
  private closed = false;

  /**
   * @param target - `{ file }` to open (and own) a database, or `{ db }` to share one
   * @param options - the hashing secret
   */
  constructor(target: SqliteTarget, options: SqliteOptOutOptions) {
    this.secret = checkedSecret(options.secret);
    ({ db: this.db, owned: this.owned } = openSqlite(target));
    this.db.exec(SCHEMA);
    this.select = this.db.prepare('SELECT opted_out AS optedOut, changed_at AS changedAt FROM sms_opt_outs WHERE address_key = ?');
    this.write = this.db.prepare(
      `INSERT INTO sms_opt_outs (address_key, opted_out, changed_at, source) VALUES (?, ?, ?, ?)
       ON CONFLICT (address_key) DO UPDATE SET opted_out = excluded.opted_out, changed_at = excluded.changed_at, source = excluded.source`,
    );
    this.setTx = this.db.transaction((key: string, optedOut: boolean, at: number, source: OptOutSource): void => {
      const row = this.select.get(key) as { changedAt: number } | undefined;
      if (row && row.changedAt > at) return;
      this.write.run(key, optedOut ? 1 : 0, at, source);
    });
  }

  async isOptedOut(address: string): Promise<boolean> {
    const row = this.select.get(this.key(address)) as { optedOut: number } | undefined;
    return row?.optedOut === 1;
  }

  async optOut(address: string, at: Date, source: OptOutSource): Promise<void> {
    this.setTx.immediate(this.key(address), true, at.getTime(), source);
  }

  async optIn(address: string, at: Date, source: OptOutSource): Promise<void> {
    this.setTx.immediate(this.key(address), false, at.getTime(), source);
  }

  /** Every recorded change, as stored (keyed hashes, never numbers): what PostgresOptOutRegistry carries over. */
  entries(): OptOutEntry[] {
    return (this.db.prepare('SELECT address_key AS addressKey, opted_out AS optedOut, changed_at AS changedAt, source FROM sms_opt_outs').all() as { addressKey: string; optedOut: number; changedAt: number; source: OptOutSource }[]).map(
      (r) => ({ addressKey: r.addressKey, optedOut: r.optedOut === 1, changedAt: r.changedAt, source: r.source }),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.db.close();
  }

  private key(address: string): string {
    return optOutKey(this.secret, address);
  }
}
