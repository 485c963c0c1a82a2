import { Pool } from 'pg';
import type { PoolClient } from 'pg';
import { buildWhere, MESSAGE_COLUMNS, rowFromDb } from './backend';
import type { MessageRow, RowFilter, RowQuery, StoreBackend, WriteOp } from './backend';
import { POSTGRES_SCHEMA } from './postgres-schema';
import { PostgresAuditLog } from './postgres-audit-log';
import { PostgresTokenRepository } from './postgres-token-repository';
import type { MessageStatus, StatusPatch, TimeBucketCount } from './types';

export interface PostgresBackendOptions {
  url: string;
  /** Schema holding the hub's tables (created if missing); default `public`. */
  schema?: string;
  poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * PostgreSQL store for several hub processes sharing one database. A batch is
 * one transaction whose inserts go in a single multi-row statement built from
 * arrays (`unnest`), so a round trip and a WAL flush serve the whole batch.
 */
export class PostgresBackend implements StoreBackend {
  readonly name = 'postgres' as const;
  readonly audit: PostgresAuditLog;
  readonly tokens: PostgresTokenRepository;
  private readonly pool: Pool;
  /** See StoreBackend.sharedPool; ended with the store. */
  get sharedPool(): Pool {
    return this.pool;
  }
  private readonly schema: string;
  private closed = false;

  constructor(options: PostgresBackendOptions) {
    this.schema = options.schema ?? 'public';
    if (!SCHEMA_NAME.test(this.schema)) throw new Error(`invalid PostgreSQL schema name ${this.schema}`);
    // search_path in the startup packet: a SET from the pool's 'connect' event raced the first query the pool
    // hands the new client (pg warns of a query on a busy client, and pg 9 refuses it).
    const { connectionString, pgOptions } = withSearchPath(options.url, this.schema);
    this.pool = new Pool({ connectionString, max: options.poolSize ?? 8, connectionTimeoutMillis: 5000, options: pgOptions });
    // An idle client's socket error must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
    this.audit = new PostgresAuditLog(this.pool);
    this.tokens = new PostgresTokenRepository(this.pool);
  }

  async init(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Several hub processes may start together: serialize schema creation.
      await client.query('SELECT pg_advisory_lock(7301)');
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
        await client.query(`SET search_path TO ${this.schema}`);
        await client.query(POSTGRES_SCHEMA);
      } finally {
        await client.query('SELECT pg_advisory_unlock(7301)');
      }
    } finally {
      client.release();
    }
  }

  async write(ops: WriteOp[]): Promise<number[]> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const changes: number[] = [];
      let inserts: MessageRow[] = [];
      for (const op of ops) {
        if (op.kind === 'insert') {
          inserts.push(op.row);
          changes.push(1);
          continue;
        }
        // Updates may target rows inserted earlier in this batch: flush those first.
        if (inserts.length) await this.insertRows(client, inserts);
        inserts = [];
        changes.push(await this.applyUpdate(client, op.id, op.patch, op.at));
      }
      if (inserts.length) await this.insertRows(client, inserts);
      await client.query('COMMIT');
      return changes;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  private async insertRows(client: PoolClient, rows: MessageRow[]): Promise<void> {
    const col = <K extends keyof MessageRow>(k: K): MessageRow[K][] => rows.map((r) => r[k]);
    await client.query(
      `INSERT INTO hub_messages (${MESSAGE_COLUMNS}, body)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::int[], $15::text[], $16::text[], $17::bigint[], $18::bigint[], $19::int[], $20::text[], $21::bytea[])`,
      [
        col('id'), col('flowId'), col('nodeId'), col('direction'), col('endpoint'), col('controlId'), col('messageType'),
        col('sender'), col('receiver'), col('patientKey'), col('status'), col('contentType'), col('parentId'), col('attempts'),
        col('errorCode'), col('errorText'), col('receivedAt'), col('updatedAt'), col('size'), col('keyId'), col('body'),
      ],
    );
  }

  private async applyUpdate(client: PoolClient, id: string, patch: StatusPatch, at: number): Promise<number> {
    const values: unknown[] = [id, at];
    const sets = ['updated_at = $2'];
    const set = (column: string, value: unknown): void => {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    };
    if (patch.status !== undefined) set('status', patch.status);
    if (patch.errorCode !== undefined) set('error_code', patch.errorCode);
    if (patch.errorText !== undefined) set('error_text', patch.errorText);
    if (patch.incrementAttempts) sets.push('attempts = attempts + 1');
    const res = await client.query(`UPDATE hub_messages SET ${sets.join(', ')} WHERE id = $1`, values);
    return res.rowCount ?? 0;
  }

  async get(id: string, includeBody: boolean): Promise<MessageRow | null> {
    const res = await this.pool.query(`SELECT ${MESSAGE_COLUMNS}${includeBody ? ', body' : ''} FROM hub_messages WHERE id = $1`, [id]);
    return res.rows[0] ? rowFromDb(res.rows[0] as Record<string, unknown>) : null;
  }

  async search(query: RowQuery): Promise<MessageRow[]> {
    const { sql, values } = buildWhere(query, (n) => `$${n}`, query.after);
    values.push(query.limit);
    const res = await this.pool.query(
      `SELECT ${MESSAGE_COLUMNS} FROM hub_messages ${sql} ORDER BY received_at DESC, id DESC LIMIT $${values.length}`,
      values,
    );
    return res.rows.map((r) => rowFromDb(r as Record<string, unknown>));
  }

  async count(filter: RowFilter): Promise<number> {
    const { sql, values } = buildWhere(filter, (n) => `$${n}`);
    const res = await this.pool.query(`SELECT COUNT(*)::bigint AS n FROM hub_messages ${sql}`, values);
    return Number((res.rows[0] as { n: string }).n);
  }

  async countByTime(filter: RowFilter, bucketMs: number): Promise<TimeBucketCount[]> {
    if (!Number.isInteger(bucketMs) || bucketMs < 1) throw new Error(`bucket width must be a positive whole number of ms, got ${bucketMs}`);
    const { sql, values } = buildWhere(filter, (n) => `$${n}`);
    const res = await this.pool.query(
      `SELECT floor(received_at / ${bucketMs})::bigint AS bucket, COUNT(*)::bigint AS total,
         COUNT(*) FILTER (WHERE direction = 'inbound')::bigint AS inbound, COUNT(*) FILTER (WHERE status = 'error')::bigint AS errored
       FROM hub_messages ${sql} GROUP BY 1 ORDER BY 1`,
      values,
    );
    return (res.rows as Record<string, string>[]).map((r) => ({ bucket: Number(r.bucket), total: Number(r.total), inbound: Number(r.inbound), errored: Number(r.errored) }));
  }

  async prune(cutoffs: { status: MessageStatus; before: number }[]): Promise<number> {
    let deleted = 0;
    for (const c of cutoffs) {
      const res = await this.pool.query('DELETE FROM hub_messages WHERE status = $1 AND updated_at < $2', [c.status, c.before]);
      deleted += res.rowCount ?? 0;
    }
    return deleted;
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * The pool's connection string and startup `options` with the schema's
 * search_path. pg lets a connection string's own `options` parameter win
 * over the config, so one in the URL is moved into the merged options (the
 * URL is left as given when it has none).
 */
export function withSearchPath(url: string, schema: string): { connectionString: string; pgOptions: string } {
  const searchPath = `-c search_path=${schema}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { connectionString: url, pgOptions: searchPath };
  }
  const own = parsed.searchParams.get('options');
  if (own === null) return { connectionString: url, pgOptions: searchPath };
  parsed.searchParams.delete('options');
  return { connectionString: parsed.toString(), pgOptions: `${own} ${searchPath}` };
}
