import type { Pool } from 'pg';

/** The advisory lock the store takes for its schema too: hub processes starting together create tables one at a time. */
const SCHEMA_LOCK = 7301;

/**
 * Creates tables (CREATE … IF NOT EXISTS) in the pool's schema. Concurrent
 * CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog, so
 * the DDL runs under the hub's schema lock.
 * @param pool - a pool whose connections use the hub's schema (search_path)
 * @param ddl - idempotent statements
 */
export async function ensurePgTables(pool: Pool, ddl: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
    try {
      await client.query(ddl);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]);
    }
  } finally {
    client.release();
  }
}

/**
 * {@link ensurePgTables} started now, for an adapter to await before each
 * query: a failure reaches every caller, and none goes unhandled meanwhile.
 */
export function pgTablesReady(pool: Pool, ddl: string): Promise<void> {
  const ready = ensurePgTables(pool, ddl);
  ready.catch(() => undefined);
  return ready;
}
