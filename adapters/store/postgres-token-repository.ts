import type { Pool } from 'pg';
import { tokenFromDb } from './sqlite-token-repository';
import type { NewToken, TokenKind, TokenRecord, TokenRepository } from './types';

const TOKEN_COLUMNS = 'id, name, kind, subject, role, created_at, created_by, expires_at, revoked_at';

export class PostgresTokenRepository implements TokenRepository {
  constructor(private readonly pool: Pool) {}

  async insert(t: NewToken): Promise<void> {
    await this.pool.query(
      'INSERT INTO hub_tokens (id, name, kind, subject, role, hash, created_at, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [t.id, t.name, t.kind, t.subject, t.role, t.hash, Date.now(), t.createdBy, t.expiresAt ? t.expiresAt.getTime() : null],
    );
  }

  async findByHash(hash: string): Promise<TokenRecord | null> {
    const res = await this.pool.query(`SELECT ${TOKEN_COLUMNS} FROM hub_tokens WHERE hash = $1`, [hash]);
    return res.rows[0] ? tokenFromDb(res.rows[0] as Record<string, unknown>) : null;
  }

  async list(kind?: TokenKind): Promise<TokenRecord[]> {
    const res = kind
      ? await this.pool.query(`SELECT ${TOKEN_COLUMNS} FROM hub_tokens WHERE kind = $1 ORDER BY created_at`, [kind])
      : await this.pool.query(`SELECT ${TOKEN_COLUMNS} FROM hub_tokens ORDER BY created_at`);
    return res.rows.map((r) => tokenFromDb(r as Record<string, unknown>));
  }

  async revoke(id: string, at: Date = new Date()): Promise<boolean> {
    const res = await this.pool.query('UPDATE hub_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at.getTime(), id]);
    return (res.rowCount ?? 0) > 0;
  }

  async purgeExpired(now: Date = new Date()): Promise<number> {
    const res = await this.pool.query("DELETE FROM hub_tokens WHERE kind = 'session' AND (expires_at < $1 OR revoked_at IS NOT NULL)", [now.getTime()]);
    return res.rowCount ?? 0;
  }
}
