import { Client } from 'pg';
import { PostgresBackend, withSearchPath } from '../../adapters/store/postgres-backend';
import { dropSchema, requirePostgres, TEST_PG_URL, throwawaySchema } from '../support/postgres';

/**
 * Every pooled connection of the PostgreSQL store works in the store's
 * schema from its first query: search_path travels in the startup packet,
 * so many queries at once on fresh connections neither see another schema
 * nor queue behind a SET on a busy client (which pg deprecates).
 */
describe('PostgreSQL store: connections', () => {
  let schema: string;

  beforeAll(async () => {
    await requirePostgres();
    schema = throwawaySchema('hub_conn');
  });

  afterAll(async () => {
    if (schema) await dropSchema(schema);
  });

  test('fresh connections, many at once: all in the store’s schema, with a URL’s own options kept, and never a query on a busy client', async () => {
    // What pg warns about (and pg 9 refuses): a query handed to a client that is still running another.
    const original = Client.prototype.query;
    let onBusyClient = 0;
    const spy = jest.spyOn(Client.prototype, 'query').mockImplementation(function (this: Client & { _queryQueue: unknown[]; _activeQuery: unknown }, ...args: unknown[]) {
      if (this._queryQueue.length > 0 || this._activeQuery) onBusyClient++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original);
    const url = `${TEST_PG_URL}${TEST_PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent('-c statement_timeout=12345')}`;
    const backend = new PostgresBackend({ url, schema, poolSize: 8 });
    try {
      await backend.init();
      const pool = backend.sharedPool;
      const rows = await Promise.all(
        Array.from({ length: 24 }, async () => (await pool.query<{ search_path: string; timeout: string }>("SELECT current_setting('search_path') AS search_path, current_setting('statement_timeout') AS timeout")).rows[0]!),
      );
      expect(new Set(rows.map((r) => r.search_path))).toEqual(new Set([schema]));
      expect(new Set(rows.map((r) => r.timeout))).toEqual(new Set(['12345ms']));
      expect(await backend.count({})).toBe(0);
      expect(onBusyClient).toBe(0);
    } finally {
      spy.mockRestore();
      await backend.close();
    }
  });

  test('a URL without options is passed on as given', () => {
    const url = 'postgres://hub:p%40ss@db.example:5432/hub?sslmode=require';
    expect(withSearchPath(url, 'hub_a')).toEqual({ connectionString: url, pgOptions: '-c search_path=hub_a' });
    expect(withSearchPath('postgres://h/db?options=-c%20x%3D1', 'hub_b')).toEqual({ connectionString: 'postgres://h/db', pgOptions: '-c x=1 -c search_path=hub_b' });
  });
});
