import type { Database as Db } from 'better-sqlite3';
import type { NewToken, TokenKind, TokenRecord, TokenRepository } from './types';

export function tokenFromDb(r: Record<string, unknown>): TokenRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    kind: r.kind as TokenKind,
    subject: r.subject as string,
    role: r.role as string,
    createdAt: new Date(Number(r.created_at)),
    createdBy: r.created_by as string,
    expiresAt: r.expires_at === null || r.expires_at === undefined ? null : new Date(Number(r.expires_at)),
    revokedAt: r.revoked_at === null || r.revoked_at === undefined ? null : new Date(Number(r.revoked_at)),
  };
}

const TOKEN_COLUMNS = 'id, name, kind, subject, role, created_at, created_by, expires_at, revoked_at';

export class SqliteTokenRepository implements TokenRepository {
  constructor(private readonly db: Db) {}

  async insert(t: NewToken): Promise<void> {
    this.db
      .prepare('INSERT INTO hub_tokens (id, name, kind, subject, role, hash, created_at, created_by, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(t.id, t.name, t.kind, t.subject, t.role, t.hash, Date.now(), t.createdBy, t.expiresAt ? t.expiresAt.getTime() : null);
  }

  async findByHash(hash: string): Promise<TokenRecord | null> {
    const r = this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM hub_tokens WHERE hash = ?`).get(hash);
    return r ? tokenFromDb(r as Record<string, unknown>) : null;
  }

  async list(kind?: TokenKind): Promise<TokenRecord[]> {
    const rows = kind
      ? this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM hub_tokens WHERE kind = ? ORDER BY created_at`).all(kind)
      : this.db.prepare(`SELECT ${TOKEN_COLUMNS} FROM hub_tokens ORDER BY created_at`).all();
    return rows.map((r) => tokenFromDb(r as Record<string, unknown>));
  }

  async revoke(id: string, at: Date = new Date()): Promise<boolean> {
    return this.db.prepare('UPDATE hub_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at.getTime(), id).changes > 0;
  }

  async purgeExpired(now: Date = new Date()): Promise<number> {
    return this.db.prepare("DELETE FROM hub_tokens WHERE kind = 'session' AND (expires_at < ? OR revoked_at IS NOT NULL)").run(now.getTime()).changes;
  }
}
