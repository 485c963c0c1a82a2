import { Client } from 'pg';
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
