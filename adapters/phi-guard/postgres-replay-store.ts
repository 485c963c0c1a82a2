import type { Pool } from 'pg';
import { pgTablesReady } from '../shared/pg-tables';
import { DEFAULT_CLAIM_TIMEOUT_MS, DEFAULT_REPLAY_RETENTION_MS } from './replay-store';
import type { ReplayClaim, ReplayStore, ReplayStoreOptions } from './replay-store';

const DDL = `
CREATE TABLE IF NOT EXISTS provider_webhook_events (
  event_key  TEXT PRIMARY KEY,
  state      TEXT NOT NULL CHECK (state IN ('in-progress', 'processed')),
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS provider_webhook_events_expiry ON provider_webhook_events (expires_at);
`;

const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * A {@link ReplayStore} in the hub's PostgreSQL database: a webhook replayed
 * to another hub process behind the load balancer is refused there too. The
 * claim is one statement, so two processes receiving the same event at once
 * cannot both process it. Event ids only.
 */
export class PostgresReplayStore implements ReplayStore {
  private readonly ready: Promise<void>;
  private readonly retentionMs: number;
  private readonly claimTimeoutMs: number;
  private lastSweep = 0;

  /**
   * @param pool - the store's pool (not ended by close())
   * @param options - retention and claim timeout
   */
  constructor(
    private readonly pool: Pool,
    options: ReplayStoreOptions = {},
  ) {
    this.retentionMs = options.retentionMs ?? DEFAULT_REPLAY_RETENTION_MS;
    this.claimTimeoutMs = options.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
    this.ready = pgTablesReady(pool, DDL);
  }

  async claim(key: string, now: Date): Promise<ReplayClaim> {
    await this.ready;
    const t = now.getTime();
    if (t - this.lastSweep >= SWEEP_INTERVAL_MS) {
      this.lastSweep = t;
      await this.pool.query('DELETE FROM provider_webhook_events WHERE expires_at <= $1', [t]);
    }
    const taken = await this.pool.query(
      `INSERT INTO provider_webhook_events (event_key, state, expires_at) VALUES ($1, 'in-progress', $2)
       ON CONFLICT (event_key) DO UPDATE SET state = 'in-progress', expires_at = EXCLUDED.expires_at
       WHERE provider_webhook_events.expires_at <= $3
       RETURNING event_key`,
      [key, t + this.claimTimeoutMs, t],
    );
    if ((taken.rowCount ?? 0) > 0) return 'claimed';
    const res = await this.pool.query('SELECT state FROM provider_webhook_events WHERE event_key = $1', [key]);
    return (res.rows[0] as { state: 'in-progress' | 'processed' } | undefined)?.state ?? 'in-progress';
  }

  async complete(key: string, now: Date): Promise<void> {
    await this.ready;
    await this.pool.query(
      `INSERT INTO provider_webhook_events (event_key, state, expires_at) VALUES ($1, 'processed', $2)
       ON CONFLICT (event_key) DO UPDATE SET state = 'processed', expires_at = EXCLUDED.expires_at`,
      [key, now.getTime() + this.retentionMs],
    );
  }

  async release(key: string): Promise<void> {
    await this.ready;
    await this.pool.query("DELETE FROM provider_webhook_events WHERE event_key = $1 AND state = 'in-progress'", [key]);
  }

  /** The pool belongs to the store. */
  async close(): Promise<void> {}
}
