import { Client, Pool } from 'pg';
import { randomBytes } from 'node:crypto';

/** The machine's PostgreSQL (trust auth on loopback); override with HUB_TEST_PG_URL. */
export const TEST_PG_URL = process.env.HUB_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * Fails with a message that names the service and how to start it, so a
 * missing PostgreSQL never turns into a silently passing suite.
 */
export async function requirePostgres(url: string = TEST_PG_URL): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is not reachable at ${url.replace(/\/\/[^@]*@/, '//')} (${(err as Error).message}). ` +
        'Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function throwawaySchema(prefix = 'hub_test'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string, url: string = TEST_PG_URL): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * A pool on a fresh throwaway schema (every connection's search_path), as the
 * store's PostgreSQL backend sets up its own; end it and drop the schema after.
 */
export async function throwawayPool(prefix = 'hub_test'): Promise<{ pool: Pool; schema: string; dispose: () => Promise<void> }> {
  await requirePostgres();
  const schema = throwawaySchema(prefix);
  const pool = schemaPool(schema);
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  return {
    pool,
    schema,
    dispose: async () => {
      await pool.end();
      await dropSchema(schema);
    },
  };
}

/** Another pool on the same schema: what a second hub process sharing the database has. The caller ends it. */
export function schemaPool(schema: string): Pool {
  const pool = new Pool({ connectionString: TEST_PG_URL, max: 4, options: `-c search_path=${schema}` });
  pool.on('error', () => undefined);
  return pool;
}

const toDispose: (() => Promise<void>)[] = [];

/**
 * A contract suite's factory for a PostgreSQL implementation: each call
 * builds it on a fresh throwaway schema. Call {@link disposeThrowawayPools}
 * in afterEach to drop them.
 * @param prefix - schema name prefix
 * @param make - builds the implementation on the pool
 */
export function onThrowawayPool<A extends unknown[], T>(prefix: string, make: (pool: Pool, ...args: A) => T): (...args: A) => Promise<T> {
  return async (...args: A) => {
    const pg = await throwawayPool(prefix);
    toDispose.push(pg.dispose);
    return make(pg.pool, ...args);
  };
}

/** Ends the pools and drops the schemas {@link onThrowawayPool} factories made. */
export async function disposeThrowawayPools(): Promise<void> {
  for (const d of toDispose.splice(0)) await d();
}
