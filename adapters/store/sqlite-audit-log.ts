import type { Database as Db } from 'better-sqlite3';
import type { AuditEntry, AuditLog, AuditQuery, NewAuditEntry } from './types';

export class SqliteAuditLog implements AuditLog {
  constructor(private readonly db: Db) {}

  async append(e: NewAuditEntry): Promise<void> {
    this.db
      .prepare('INSERT INTO hub_audit (at, actor, action, target, detail, ip) VALUES (?, ?, ?, ?, ?, ?)')
      .run((e.at ?? new Date()).getTime(), e.actor, e.action, e.target ?? null, e.detail ? JSON.stringify(e.detail) : null, e.ip ?? null);
  }

  async list(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    if (q.actor) (where.push('actor = ?'), values.push(q.actor));
    if (q.action) (where.push('action = ?'), values.push(q.action));
    if (q.target) (where.push('target = ?'), values.push(q.target));
    if (q.before) (where.push('id < ?'), values.push(q.before));
    const rows = this.db
      .prepare(`SELECT * FROM hub_audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`)
      .all(...values, Math.min(q.limit ?? 100, 1000)) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(Number(r.at)),
      actor: r.actor as string,
      action: r.action as string,
      target: (r.target as string | null) ?? null,
      detail: r.detail ? (JSON.parse(r.detail as string) as Record<string, unknown>) : null,
      ip: (r.ip as string | null) ?? null,
    }));
  }
}
