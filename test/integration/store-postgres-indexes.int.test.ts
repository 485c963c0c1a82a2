import { Client } from 'pg';
import { PostgresBackend } from '../../adapters/store/postgres-backend';
import { buildWhere, MESSAGE_COLUMNS } from '../../adapters/store/backend';
import { dropSchema, requirePostgres, TEST_PG_URL, throwawaySchema } from '../support/postgres';

/**
 * The PostgreSQL search indexes (bench:search measures their speed at 1M
 * rows; this checks their shape): a store created with the older, narrow
 * indexes is migrated at open, and a combined filter is checked inside the
 * filter index instead of on every table row.
 */
describe('PostgreSQL store: search indexes', () => {
  let schema: string;
  let client: Client;

  beforeAll(async () => {
    await requirePostgres();
    schema = throwawaySchema('hub_idx');
    client = new Client({ connectionString: TEST_PG_URL });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    if (schema) await dropSchema(schema);
  });

  const indexes = async (): Promise<string[]> =>
    (await client.query<{ indexname: string }>('SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname', [schema, 'hub_messages'])).rows.map((r) => r.indexname);

  test('opening a store made with the narrow indexes replaces them with the filter indexes and adds the statistics', async () => {
    const first = new PostgresBackend({ url: TEST_PG_URL, schema });
    await first.init();
    await first.close();
    // Back to the earlier layout.
    await client.query(`SET search_path TO ${schema}`);
    await client.query(`DROP INDEX hub_messages_type_f, hub_messages_status_f, hub_messages_endpoint_f; DROP STATISTICS hub_messages_filters;
      CREATE INDEX hub_messages_type ON hub_messages (message_type, received_at);
      CREATE INDEX hub_messages_status ON hub_messages (status, received_at);
      CREATE INDEX hub_messages_endpoint ON hub_messages (endpoint, received_at);`);

    const reopened = new PostgresBackend({ url: TEST_PG_URL, schema });
    await reopened.init();
    await reopened.close();
    const names = await indexes();
    expect(names).toEqual(expect.arrayContaining(['hub_messages_endpoint_f', 'hub_messages_status_f', 'hub_messages_type_f']));
    expect(names).not.toEqual(expect.arrayContaining(['hub_messages_endpoint']));
    expect(names.filter((n) => ['hub_messages_endpoint', 'hub_messages_status', 'hub_messages_type'].includes(n))).toEqual([]);
    const stats = await client.query('SELECT stxname FROM pg_statistic_ext WHERE stxnamespace = $1::regnamespace', [schema]);
    expect(stats.rows.map((r: { stxname: string }) => r.stxname)).toEqual(['hub_messages_filters']);
  });

  test('a no-match endpoint + direction search is an index condition on the endpoint index, not a walk of the table', async () => {
    await client.query(`SET search_path TO ${schema}`);
    // 60,000 rows where each endpoint has one direction, as in a hub; bodies are irrelevant to the plan.
    await client.query(`INSERT INTO hub_messages (id, direction, endpoint, message_type, status, content_type, received_at, updated_at, size, key_id, body)
      SELECT lpad(g::text, 12, '0'), CASE WHEN g % 3 = 0 THEN 'outbound' ELSE 'inbound' END,
             CASE WHEN g % 3 = 0 THEN 'lis-mllp' WHEN g % 3 = 1 THEN 'hl7-intake' ELSE 'http-intake' END,
             'ORU^R01', 'sent', 'application/hl7-v2', 1700000000000 + g * 1000, 1700000000000 + g * 1000, 900, 'k1', '\\x00'::bytea
      FROM generate_series(1, 60000) g`);
    await client.query('ANALYZE hub_messages');
    const { sql, values } = buildWhere({ endpoint: 'hl7-intake', direction: 'outbound' }, (n) => `$${n}`);
    values.push(51);
    const res = await client.query(`EXPLAIN (FORMAT JSON) SELECT ${MESSAGE_COLUMNS} FROM hub_messages ${sql} ORDER BY received_at DESC, id DESC LIMIT $${values.length}`, values);
    const plan = JSON.stringify(res.rows[0]['QUERY PLAN']);
    expect(plan).toContain('"Index Name":"hub_messages_endpoint_f"');
    expect(plan).toMatch(/"Index Cond":"\(\(endpoint = '[^']+'::text\) AND \(direction = '[^']+'::text\)\)"/);
    expect(plan).not.toContain('"Filter"');
  });
});
