import type { Pool } from 'pg';
import { pgTablesReady } from '../shared/pg-tables';
import { checkedSecret, optOutKey } from './opt-out-registry';
import type { OptOutEntry, OptOutRegistry, OptOutSource } from './opt-out-registry';
import type { SqliteOptOutOptions } from './sqlite-opt-out-registry';

const DDL = `
CREATE TABLE IF NOT EXISTS sms_opt_outs (
  address_key TEXT PRIMARY KEY,
  opted_out   BOOLEAN NOT NULL,
  changed_at  BIGINT NOT NULL,
  source      TEXT NOT NULL
);
`;

/**
 * The opt-out registry in the hub's PostgreSQL database: a STOP that reaches
 * one hub process stops every process from texting that number. Numbers are
 * stored keyed-hashed exactly as in SqliteOptOutRegistry. A change older than
 * the one recorded is ignored in the same statement that writes it.
 */
export class PostgresOptOutRegistry implements OptOutRegistry {
  private readonly ready: Promise<void>;
  private readonly secret: Buffer;

  /**
   * @param pool - the store's pool (not ended by close())
   * @param options - the hashing secret; `carryOver`: consents recorded before the hub moved to PostgreSQL (the
   *   process's SQLite registry), merged in before the first check, a newer change winning as always
   */
  constructor(
    private readonly pool: Pool,
    options: SqliteOptOutOptions & { carryOver?: () => OptOutEntry[] },
  ) {
    this.secret = checkedSecret(options.secret);
    const carryOver = options.carryOver;
    this.ready = pgTablesReady(pool, DDL).then(() => (carryOver ? this.merge(carryOver()) : undefined));
    this.ready.catch(() => undefined);
  }

  private async merge(entries: OptOutEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.pool.query(
      `INSERT INTO sms_opt_outs (address_key, opted_out, changed_at, source)
       SELECT * FROM UNNEST($1::text[], $2::boolean[], $3::bigint[], $4::text[])
       ON CONFLICT (address_key) DO UPDATE SET opted_out = EXCLUDED.opted_out, changed_at = EXCLUDED.changed_at, source = EXCLUDED.source
       WHERE sms_opt_outs.changed_at < EXCLUDED.changed_at`,
      [entries.map((e) => e.addressKey), entries.map((e) => e.optedOut), entries.map((e) => e.changedAt), entries.map((e) => e.source)],
    );
  }

  async isOptedOut(address: string): Promise<boolean> {
    await this.ready;
    const res = await this.pool.query('SELECT opted_out FROM sms_opt_outs WHERE address_key = $1', [optOutKey(this.secret, address)]);
    return (res.rows[0] as { opted_out: boolean } | undefined)?.opted_out === true;
  }

  optOut(address: string, at: Date, source: OptOutSource): Promise<void> {
    return this.set(address, true, at, source);
  }

  optIn(address: string, at: Date, source: OptOutSource): Promise<void> {
    return this.set(address, false, at, source);
  }

  /** The pool belongs to the store. */
  async close(): Promise<void> {}

  private async set(address: string, optedOut: boolean, at: Date, source: OptOutSource): Promise<void> {
    await this.ready;
    await this.pool.query(
      `INSERT INTO sms_opt_outs (address_key, opted_out, changed_at, source) VALUES ($1, $2, $3, $4)
       ON CONFLICT (address_key) DO UPDATE SET opted_out = EXCLUDED.opted_out, changed_at = EXCLUDED.changed_at, source = EXCLUDED.source
       WHERE sms_opt_outs.changed_at <= EXCLUDED.changed_at`,
      [optOutKey(this.secret, address), optedOut, at.getTime(), source],
    );
  }
}
