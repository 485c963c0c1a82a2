import type { Pool } from 'pg';
import type { AuditEntry, AuditLog, AuditQuery, NewAuditEntry } from './types';

export class PostgresAuditLog implements AuditLog {
  constructor(private readonly pool: Pool) {}

  async append(e: NewAuditEntry): Promise<void> {
    await this.pool.query('INSERT INTO hub_audit (at, actor, action, target, detail, ip) VALUES ($1, $2, $3, $4, $5, $6)', [
      (e.at ?? new Date()).getTime(), e.actor, e.action, e.target ?? null, e.detail ? JSON.stringify(e.detail) : null, e.ip ?? null,
    ]);
  }

  async list(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const values: unknown[] = [];
    const add = (sql: string, v: unknown): void => {
      values.push(v);
      where.push(`${sql} $${values.length}`);
    };
    if (q.actor) add('actor =', q.actor);
    if (q.action) add('action =', q.action);
    if (q.target) add('target =', q.target);
    if (q.before) add('id <', q.before);
    values.push(Math.min(q.limit ?? 100, 1000));
    const res = await this.pool.query(
      `SELECT * FROM hub_audit ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${values.length}`,
      values,
    );
    return res.rows.map((r: Record<string, unknown>) => ({
      id: Number(r.id),
      at: new Date(Number(r.at)),
      actor: r.actor as string,
      action: r.action as string,
      target: (r.target as string | null) ?? null,
      detail: (r.detail as Record<string, unknown> | null) ?? null,
      ip: (r.ip as string | null) ?? null,
    }));
  }
}
