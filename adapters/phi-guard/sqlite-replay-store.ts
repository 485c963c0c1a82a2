import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { DEFAULT_CLAIM_TIMEOUT_MS, DEFAULT_REPLAY_RETENTION_MS } from './replay-store';
import type { ReplayClaim, ReplayStore, ReplayStoreOptions } from './replay-store';
import { openSqlite } from './sqlite-file';
import type { SqliteTarget } from './sqlite-file';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS provider_webhook_events (
  event_key  TEXT PRIMARY KEY,
  state      TEXT NOT NULL CHECK (state IN ('in-progress', 'processed')),
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS provider_webhook_events_expiry ON provider_webhook_events (expires_at);
`;

const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * A {@link ReplayStore} in SQLite, so a replay is refused after a restart
 * too. Only event ids are stored (no payloads, no PHI). One process per file:
 * the claim is a transaction, so it is also safe across processes sharing
 * the file on one host.
 */
export class SqliteReplayStore implements ReplayStore {
  private readonly db: Db;
  private readonly owned: boolean;
  private readonly retentionMs: number;
  private readonly claimTimeoutMs: number;
  private readonly select: Statement<[string]>;
  private readonly upsert: Statement<[string, string, number]>;
  private readonly remove: Statement<[string]>;
  private readonly prune: Statement<[number]>;
  private readonly claimTx: Transaction<(key: string, now: number) => ReplayClaim>;
  private lastSweep = 0;
  private closed = false;

  /**
   * @param target - `{ file }` to open (and own) a database, or `{ db }` to share one
   * @param options - retention and claim timeout
   */
  constructor(target: SqliteTarget, options: ReplayStoreOptions = {}) {
    ({ db: this.db, owned: this.owned } = openSqlite(target));
    this.db.exec(SCHEMA);
    this.retentionMs = options.retentionMs ?? DEFAULT_REPLAY_RETENTION_MS;
    this.claimTimeoutMs = options.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
    this.select = this.db.prepare('SELECT state, expires_at AS expiresAt FROM provider_webhook_events WHERE event_key = ?');
    this.upsert = this.db.prepare(
      'INSERT INTO provider_webhook_events (event_key, state, expires_at) VALUES (?, ?, ?) ON CONFLICT (event_key) DO UPDATE SET state = excluded.state, expires_at = excluded.expires_at',
    );
    this.remove = this.db.prepare("DELETE FROM provider_webhook_events WHERE event_key = ? AND state = 'in-progress'");
    this.prune = this.db.prepare('DELETE FROM provider_webhook_events WHERE expires_at <= ?');
    this.claimTx = this.db.transaction((key: string, now: number): ReplayClaim => {
      const row = this.select.get(key) as { state: 'in-progress' | 'processed'; expiresAt: number } | undefined;
      if (row && row.expiresAt > now) return row.state;
      this.upsert.run(key, 'in-progress', now + this.claimTimeoutMs);
      return 'claimed';
    });
  }

  async claim(key: string, now: Date): Promise<ReplayClaim> {
    const t = now.getTime();
    if (t - this.lastSweep >= SWEEP_INTERVAL_MS) {
      this.lastSweep = t;
      this.prune.run(t);
    }
    return this.claimTx.immediate(key, t);
  }

  async complete(key: string, now: Date): Promise<void> {
    this.upsert.run(key, 'processed', now.getTime() + this.retentionMs);
  }

  async release(key: string): Promise<void> {
    this.remove.run(key);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.db.close();
  }
}
