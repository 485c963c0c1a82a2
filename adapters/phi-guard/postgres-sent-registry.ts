import type { Pool } from 'pg';
import { pgTablesReady } from '../shared/pg-tables';
import { DEFAULT_SEND_LEASE_MS, DEFAULT_SENT_RETENTION_MS } from './sent-registry';
import type { Channel, OutboundState, Reservation, SentRecord, SentRegistry, SentRegistryOptions } from './sent-registry';

const DDL = `
CREATE TABLE IF NOT EXISTS provider_sent (
  hub_message_id TEXT PRIMARY KEY,
  channel        TEXT NOT NULL,
  state          TEXT NOT NULL,
  provider_id    TEXT,
  error_code     TEXT,
  updated_at     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS provider_sent_provider_id ON provider_sent (provider_id);
CREATE INDEX IF NOT EXISTS provider_sent_updated ON provider_sent (updated_at);
`;

const COLUMNS = 'hub_message_id, channel, state, provider_id, error_code, updated_at';
/** stateRank() in SQL: `failed` ranks with `delivered`, both final. */
const RANK = (col: string): string => `(CASE ${col} WHEN 'sending' THEN 0 WHEN 'accepted' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END)`;
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * A {@link SentRegistry} in the hub's PostgreSQL database, for hub processes
 * that share a store: whichever process a queue redelivers a message to sees
 * that another one already sent it. Every check-and-set is one statement, so
 * two processes reserving the same id at once cannot both win. Ids and
 * states only (no recipients, no bodies).
 */
export class PostgresSentRegistry implements SentRegistry {
  private readonly ready: Promise<void>;
  private readonly sendLeaseMs: number;
  private readonly retentionMs: number;
  private lastPrune = 0;

  /**
   * @param pool - the store's pool (not ended by close())
   * @param options - lease and retention
   */
  constructor(
    private readonly pool: Pool,
    options: SentRegistryOptions = {},
  ) {
    this.sendLeaseMs = options.sendLeaseMs ?? DEFAULT_SEND_LEASE_MS;
    this.retentionMs = options.retentionMs ?? DEFAULT_SENT_RETENTION_MS;
    this.ready = pgTablesReady(pool, DDL);
  }

  async reserve(hubMessageId: string, channel: Channel, now: Date): Promise<Reservation> {
    await this.ready;
    const t = now.getTime();
    if (t - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = t;
      await this.pool.query('DELETE FROM provider_sent WHERE updated_at < $1', [t - this.retentionMs]);
    }
    // Taken when new, or when an earlier attempt's lease ran out without the provider accepting it. A record that
    // vanishes between the two statements (released, pruned) was not being sent: take it again, a bounded number of times.
    for (let round = 0; round < 3; round++) {
      const taken = await this.pool.query(
        `INSERT INTO provider_sent (${COLUMNS}) VALUES ($1, $2, 'sending', NULL, NULL, $3)
         ON CONFLICT (hub_message_id) DO UPDATE SET channel = EXCLUDED.channel, state = 'sending', provider_id = NULL, error_code = NULL, updated_at = EXCLUDED.updated_at
         WHERE provider_sent.state = 'sending' AND $3 - provider_sent.updated_at >= $4
         RETURNING hub_message_id`,
        [hubMessageId, channel, t, this.sendLeaseMs],
      );
      if ((taken.rowCount ?? 0) > 0) return { status: 'reserved' };
      const record = await this.get(hubMessageId);
      if (record) return record.state === 'sending' ? { status: 'in-progress', record } : { status: 'already-sent', record };
    }
    // Another process keeps taking and releasing it: not ours to send now; the queue retries.
    throw new Error('sent registry: the reservation kept changing hands');
  }

  async markAccepted(hubMessageId: string, providerId: string | null, now: Date): Promise<void> {
    await this.ready;
    await this.pool.query(
      `UPDATE provider_sent SET state = CASE WHEN state = 'sending' THEN 'accepted' ELSE state END,
         provider_id = COALESCE($2, provider_id), updated_at = $3 WHERE hub_message_id = $1`,
      [hubMessageId, providerId, now.getTime()],
    );
  }

  async release(hubMessageId: string): Promise<void> {
    await this.ready;
    await this.pool.query("DELETE FROM provider_sent WHERE hub_message_id = $1 AND state = 'sending'", [hubMessageId]);
  }

  async advance(hubMessageId: string, state: OutboundState, errorCode: string | null, now: Date): Promise<SentRecord | null> {
    await this.ready;
    const res = await this.pool.query(
      `UPDATE provider_sent SET state = $2, error_code = $3, updated_at = $4
       WHERE hub_message_id = $1 AND state NOT IN ('delivered', 'failed') AND ${RANK('state')} < ${RANK('$2::text')}
       RETURNING ${COLUMNS}`,
      [hubMessageId, state, state === 'failed' ? errorCode : null, now.getTime()],
    );
    return res.rows[0] ? toRecord(res.rows[0] as Row) : null;
  }

  async get(hubMessageId: string): Promise<SentRecord | null> {
    await this.ready;
    const res = await this.pool.query(`SELECT ${COLUMNS} FROM provider_sent WHERE hub_message_id = $1`, [hubMessageId]);
    return res.rows[0] ? toRecord(res.rows[0] as Row) : null;
  }

  async findByProviderId(providerId: string): Promise<SentRecord | null> {
    await this.ready;
    const res = await this.pool.query(`SELECT ${COLUMNS} FROM provider_sent WHERE provider_id = $1 LIMIT 1`, [providerId]);
    return res.rows[0] ? toRecord(res.rows[0] as Row) : null;
  }

  /** The pool belongs to the store. */
  async close(): Promise<void> {}
}

interface Row {
  hub_message_id: string;
  channel: Channel;
  state: OutboundState;
  provider_id: string | null;
  error_code: string | null;
  updated_at: string | number;
}

function toRecord(r: Row): SentRecord {
  return { hubMessageId: r.hub_message_id, channel: r.channel, state: r.state, providerId: r.provider_id, errorCode: r.error_code, updatedAt: new Date(Number(r.updated_at)) };
}
