import type { Database as Db, Statement, Transaction } from 'better-sqlite3';
import { DEFAULT_SEND_LEASE_MS, DEFAULT_SENT_RETENTION_MS, isFinal, stateRank } from './sent-registry';
import type { Channel, OutboundState, Reservation, SentRecord, SentRegistry, SentRegistryOptions } from './sent-registry';
import { openSqlite } from './sqlite-file';
import type { SqliteTarget } from './sqlite-file';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS provider_sent (
  hub_message_id TEXT PRIMARY KEY,
  channel        TEXT NOT NULL,
  state          TEXT NOT NULL,
  provider_id    TEXT,
  error_code     TEXT,
  updated_at     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS provider_sent_provider_id ON provider_sent (provider_id);
CREATE INDEX IF NOT EXISTS provider_sent_updated ON provider_sent (updated_at);
`;

interface Row {
  hubMessageId: string;
  channel: Channel;
  state: OutboundState;
  providerId: string | null;
  errorCode: string | null;
  updatedAt: number;
}

const COLUMNS = 'hub_message_id AS hubMessageId, channel, state, provider_id AS providerId, error_code AS errorCode, updated_at AS updatedAt';
const PRUNE_INTERVAL_MS = 10 * 60_000;

/**
 * A {@link SentRegistry} in SQLite: idempotency that survives a restart,
 * which is exactly when a queue redelivers. Stores ids and states only
 * (no recipients, no bodies).
 */
export class SqliteSentRegistry implements SentRegistry {
  private readonly db: Db;
  private readonly owned: boolean;
  private readonly sendLeaseMs: number;
  private readonly retentionMs: number;
  private readonly byId: Statement<[string]>;
  private readonly byProvider: Statement<[string]>;
  private readonly write: Statement<[string, string, string, string | null, string | null, number]>;
  private readonly removeSending: Statement<[string]>;
  private readonly prune: Statement<[number]>;
  private readonly reserveTx: Transaction<(id: string, channel: Channel, now: number) => Reservation>;
  private readonly advanceTx: Transaction<(id: string, state: OutboundState, errorCode: string | null, now: number) => SentRecord | null>;
  private readonly acceptTx: Transaction<(id: string, providerId: string | null, now: number) => void>;
  private lastPrune = 0;
  private closed = false;

  /**
   * @param target - `{ file }` to open (and own) a database, or `{ db }` to share one
   * @param options - lease and retention
   */
  constructor(target: SqliteTarget, options: SentRegistryOptions = {}) {
    ({ db: this.db, owned: this.owned } = openSqlite(target));
    this.db.exec(SCHEMA);
    this.sendLeaseMs = options.sendLeaseMs ?? DEFAULT_SEND_LEASE_MS;
    this.retentionMs = options.retentionMs ?? DEFAULT_SENT_RETENTION_MS;
    this.byId = this.db.prepare(`SELECT ${COLUMNS} FROM provider_sent WHERE hub_message_id = ?`);
    this.byProvider = this.db.prepare(`SELECT ${COLUMNS} FROM provider_sent WHERE provider_id = ? LIMIT 1`);
    this.write = this.db.prepare(
      `INSERT INTO provider_sent (hub_message_id, channel, state, provider_id, error_code, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (hub_message_id) DO UPDATE SET channel = excluded.channel, state = excluded.state, provider_id = excluded.provider_id,
         error_code = excluded.error_code, updated_at = excluded.updated_at`,
    );
    this.removeSending = this.db.prepare("DELETE FROM provider_sent WHERE hub_message_id = ? AND state = 'sending'");
    this.prune = this.db.prepare('DELETE FROM provider_sent WHERE updated_at < ?');

    this.reserveTx = this.db.transaction((id: string, channel: Channel, now: number): Reservation => {
      const row = this.byId.get(id) as Row | undefined;
      if (row) {
        if (row.state !== 'sending') return { status: 'already-sent', record: toRecord(row) };
        if (now - row.updatedAt < this.sendLeaseMs) return { status: 'in-progress', record: toRecord(row) };
      }
      this.write.run(id, channel, 'sending', null, null, now);
      return { status: 'reserved' };
    });
    this.acceptTx = this.db.transaction((id: string, providerId: string | null, now: number): void => {
      const row = this.byId.get(id) as Row | undefined;
      if (!row) return;
      const state = stateRank(row.state) < stateRank('accepted') ? 'accepted' : row.state;
      this.write.run(id, row.channel, state, providerId ?? row.providerId, row.errorCode, now);
    });
    this.advanceTx = this.db.transaction((id: string, state: OutboundState, errorCode: string | null, now: number): SentRecord | null => {
      const row = this.byId.get(id) as Row | undefined;
      if (!row || isFinal(row.state) || stateRank(state) <= stateRank(row.state)) return null;
      const code = state === 'failed' ? errorCode : null;
      this.write.run(id, row.channel, state, row.providerId, code, now);
      return toRecord({ ...row, state, errorCode: code, updatedAt: now });
    });
  }

  async reserve(hubMessageId: string, channel: Channel, now: Date): Promise<Reservation> {
    const t = now.getTime();
    if (t - this.lastPrune >= PRUNE_INTERVAL_MS) {
      this.lastPrune = t;
      this.prune.run(t - this.retentionMs);
    }
    return this.reserveTx.immediate(hubMessageId, channel, t);
  }

  async markAccepted(hubMessageId: string, providerId: string | null, now: Date): Promise<void> {
    this.acceptTx.immediate(hubMessageId, providerId, now.getTime());
  }

  async release(hubMessageId: string): Promise<void> {
    this.removeSending.run(hubMessageId);
  }

  async advance(hubMessageId: string, state: OutboundState, errorCode: string | null, now: Date): Promise<SentRecord | null> {
    return this.advanceTx.immediate(hubMessageId, state, errorCode, now.getTime());
  }

  async get(hubMessageId: string): Promise<SentRecord | null> {
    const row = this.byId.get(hubMessageId) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  async findByProviderId(providerId: string): Promise<SentRecord | null> {
    const row = this.byProvider.get(providerId) as Row | undefined;
    return row ? toRecord(row) : null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) this.db.close();
  }
}

function toRecord(row: Row): SentRecord {
  return { hubMessageId: row.hubMessageId, channel: row.channel, state: row.state, providerId: row.providerId, errorCode: row.errorCode, updatedAt: new Date(row.updatedAt) };
}
