/**
 * `npm run bench:store`: durable inserts per second into each store backend.
 * A write counts only once its promise resolves, i.e. after the group commit
 * holding it is durable (SQLite WAL + synchronous=FULL; PostgreSQL COMMIT).
 * Prints a table and one JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { dropSchema, requirePostgres, TEST_PG_URL, throwawaySchema } from '../support/postgres';
import { testStoreKeys } from '../support/store-keys';
import { canaryOru } from '../fixtures/canary';
import { percentile } from './percentile';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 20_000);
const BODY = canaryOru('BENCH').padEnd(1024, 'X');

interface Row {
  backend: string;
  inFlight: number;
  messages: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

async function run(backend: string, store: EncryptedMessageStore, inFlight: number, messages: number): Promise<Row> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < messages) {
      const n = next++;
      const t0 = performance.now();
      await store.insert({ direction: 'inbound', endpoint: 'bench', controlId: `B${n}`, messageType: 'ORU^R01', patientId: `MRN${n % 1000}`, body: BODY });
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { backend, inFlight, messages, seconds: Number(seconds.toFixed(2)), perSecond: Math.round(messages / seconds), p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99) };
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'hub-bench-'));
  const sqlite = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
  for (const inFlight of [1, 8, 64]) rows.push(await run('sqlite', sqlite, inFlight, inFlight === 1 ? Math.min(MESSAGES, 5000) : MESSAGES));
  await sqlite.close();
  rmSync(dir, { recursive: true, force: true });

  await requirePostgres();
  const schema = throwawaySchema('hub_bench');
  const pg = await createMessageStore({ url: TEST_PG_URL, dataDir: dir, schema, ...testStoreKeys() });
  for (const inFlight of [1, 8, 64]) rows.push(await run('postgres', pg, inFlight, inFlight === 1 ? Math.min(MESSAGES, 2000) : MESSAGES));
  await pg.close();
  await dropSchema(schema);

  const header = ['backend', 'in flight', 'messages', 'seconds', 'durable inserts/s', 'p50 ms', 'p99 ms'];
  const lines = rows.map((r) => [r.backend, r.inFlight, r.messages, r.seconds, r.perSecond, r.p50Ms, r.p99Ms].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  process.stdout.write(`Store benchmark: 1 KB ORU^R01 bodies, encrypted, durable before ack (${new Date().toISOString()})\n`);
  process.stdout.write([fmt(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(fmt)].join('\n') + '\n');
  process.stdout.write(JSON.stringify({ bench: 'store', rows }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:store failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
