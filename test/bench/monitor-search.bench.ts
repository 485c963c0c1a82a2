/**
 * `npm run bench:search`: the monitor's message searches on a store of
 * 1,000,000 messages (BENCH_MESSAGES to change), on SQLite and on PostgreSQL
 * (BENCH_BACKENDS=sqlite or =postgres for one), each timed as the API runs it
 * (store.search, 50 a page, keyset cursor), plus the overview's snapshot
 * (MonitorStats: backfill of the hour, then a steady-state tick).
 *
 * Each store is filled through its public insert() (encryption, patient-key
 * hashing and group commit included), 2,000 in flight at a time, with receipt
 * times spread over 90 days in arrival order, as a hub would have written them.
 * PostgreSQL then gets ANALYZE, as autovacuum would have run on a production
 * table that grew to this size (SQLite's store samples statistics at open).
 * Prints one table per backend (with the query plan of each search) and one
 * JSON line.
 *
 * PostgreSQL: a database `bench_search` on the server of HUB_TEST_PG_URL
 * (created if missing; BENCH_PG_URL names another), dropped at the end.
 * BENCH_DB=/path/dir keeps the filled SQLite store there, BENCH_PG_KEEP=1 keeps
 * the PostgreSQL database; either is reused on the next run (fixed bench
 * keys), for trying index changes without refilling.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { createMessageStore } from '../../adapters/store';
import type { Direction, EncryptedMessageStore, MessageQuery, MessageStatus, NewMessage } from '../../adapters/store';
import { buildWhere, MESSAGE_COLUMNS } from '../../adapters/store/backend';
import { patientPageSql } from '../../adapters/store/sqlite-patient-index';
import { MonitorStats } from '../../hub/monitor/monitor-stats';
import { requirePostgres, TEST_PG_URL } from '../support/postgres';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres').split(',').map((s) => s.trim()) as ('sqlite' | 'postgres')[];
const IN_FLIGHT = 2_000;
const DAYS = 90;
const PATIENTS = 50_000;
const PAGE = 50;
const RUNS = 7;
const BUDGET_MS = 200;
const DAY_MS = 86_400_000;
const PG_DATABASE = 'bench_search';

/** A deterministic PRNG (mulberry32), so every run fills the same store. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(r: number, table: readonly (readonly [T, number])[]): T {
  let acc = 0;
  for (const [v, w] of table) {
    acc += w;
    if (r < acc) return v;
  }
  return table[table.length - 1]![0];
}

const ENDPOINTS: readonly (readonly [[string, Direction], number])[] = [
  [['hl7-intake', 'inbound'], 0.35],
  [['lis-mllp', 'outbound'], 0.2],
  [['emr-fhir', 'outbound'], 0.15],
  [['http-intake', 'inbound'], 0.08],
  [['immulite-2000', 'inbound'], 0.06],
  [['cobas-e411', 'inbound'], 0.05],
  [['architect-i1000', 'inbound'], 0.04],
  [['billing-x12', 'outbound'], 0.03],
  [['stripe', 'outbound'], 0.02],
  [['twilio-sms', 'outbound'], 0.015],
  [['sendgrid-email', 'outbound'], 0.004],
  [['sftp-claims', 'outbound'], 0.001],
];
const TYPES: readonly (readonly [string, number])[] = [
  ['ORU^R01', 0.4],
  ['ADT^A08', 0.15],
  ['ADT^A04', 0.1],
  ['ORM^O01', 0.1],
  ['ACK', 0.1],
  ['SIU^S12', 0.05],
  ['ASTM', 0.05],
  ['837P', 0.02],
  ['MDM^T02', 0.02],
  ['DFT^P03', 0.01],
];
const STATUSES: readonly (readonly [MessageStatus, number])[] = [
  ['sent', 0.9],
  ['filtered', 0.03],
  ['error', 0.025],
  ['queued', 0.015],
  ['received', 0.02],
  ['processing', 0.01],
];
const BODY = ['MSH|^~\\&|IVFLIS|REPROLAB|IVFEMR|REPROCLINIC|20261204101500||ORU^R01^ORU_R01|BENCH|P|2.5.1', 'PID|1||BENCH-MRN^^^REPROCLINIC^MR||BENCH^PATIENT||19010101|F', 'OBR|1|ORD1|LAB1|21198-7^hCG beta^LN', 'OBX|1|NM|21198-7^hCG beta^LN||152.4|m[IU]/mL|<5|H|||F']
  .join('\r')
  .padEnd(900, ' ');

// Fixed keys: a kept store must hash patient ids the same way on the next run. Bench data only.
const KEYS = { keys: { bench: Buffer.alloc(32, 7) }, activeKeyId: 'bench', patientKeySecret: Buffer.alloc(32, 9) };

interface Generated {
  message: NewMessage;
  controlId: string;
  patientId: string;
}

function generator(now: number): (i: number) => Generated {
  const r = rng(4711);
  const start = now - DAYS * DAY_MS;
  const step = (DAYS * DAY_MS) / MESSAGES;
  return (i) => {
    const [endpoint, direction] = pick(r(), ENDPOINTS);
    const controlId = `${(20_000_000 + i).toString(36).toUpperCase()}-${Math.floor(r() * 1e6)}`;
    const patientId = `MRN${Math.floor(r() * PATIENTS)}`;
    return {
      controlId,
      patientId,
      message: {
        direction,
        endpoint,
        controlId,
        messageType: pick(r(), TYPES),
        status: pick(r(), STATUSES),
        patientId,
        sender: 'IVFLIS^REPROLAB',
        receiver: 'IVFEMR^REPROCLINIC',
        contentType: 'application/hl7-v2',
        receivedAt: new Date(Math.floor(start + i * step + r() * step)),
        body: BODY,
      },
    };
  };
}

interface Samples {
  sampleControlId: string;
  samplePatientId: string;
}

async function fill(label: string, store: EncryptedMessageStore, now: number): Promise<Samples & { seconds: number }> {
  const gen = generator(now);
  const t0 = performance.now();
  let sampleControlId = '';
  let samplePatientId = '';
  for (let base = 0; base < MESSAGES; base += IN_FLIGHT) {
    const batch: Promise<unknown>[] = [];
    for (let i = base; i < Math.min(MESSAGES, base + IN_FLIGHT); i++) {
      const g = gen(i);
      if (i === Math.floor(MESSAGES / 2)) {
        sampleControlId = g.controlId;
        samplePatientId = g.patientId;
      }
      batch.push(store.insert(g.message));
    }
    await Promise.all(batch);
    if ((base / IN_FLIGHT) % 50 === 0) process.stderr.write(`\r${label}: filling ${base + batch.length} / ${MESSAGES}`);
  }
  process.stderr.write('\n');
  return { seconds: (performance.now() - t0) / 1000, sampleControlId, samplePatientId };
}

/** The samples a fill ending at `now` used (same generator, same seed), for a reused store. */
function samplesOf(now: number): Samples {
  const gen = generator(now);
  let g = gen(0);
  for (let i = 1; i <= Math.floor(MESSAGES / 2); i++) g = gen(i);
  return { sampleControlId: g.controlId, samplePatientId: g.patientId };
}

function percentileOf(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

/** One backend under test: its store, a way to show a search's plan, and cleanup. */
interface Subject {
  backend: 'sqlite' | 'postgres';
  store: EncryptedMessageStore;
  /** The search's SQL exactly as the backend builds it, explained. */
  plan(q: MessageQuery, withCursor: boolean, now: number): Promise<string>;
  sizeBytes(): Promise<number>;
  /** Filled now (null when reused), and what it took to make planner statistics. */
  fillSeconds: number | null;
  statsMs: number | null;
  now: number;
  samples: Samples;
  close(): Promise<void>;
}

function rowFilter(store: EncryptedMessageStore, q: MessageQuery): Parameters<typeof buildWhere>[0] {
  return {
    controlId: q.controlId,
    patientKey: q.patientId ? store.patientKey(q.patientId) : undefined,
    messageType: q.messageType,
    status: q.status,
    endpoint: q.endpoint,
    direction: q.direction,
    from: q.from?.getTime(),
    to: q.to?.getTime(),
  };
}

async function openSqlite(): Promise<Subject> {
  const keep = process.env.BENCH_DB;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'hub-bench-search-'));
  const dbFile = join(dir, 'store', 'messages.db');
  const reuse = keep !== undefined && existsSync(dbFile);
  let store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...KEYS });
  let now = Date.now();
  let fillSeconds: number | null = null;
  let samples: Samples;
  if (reuse) {
    now = (await store.search({ limit: 1 })).items[0]!.receivedAt.getTime() + 1;
    samples = samplesOf(now);
    process.stderr.write(`sqlite: reusing ${dbFile}\n`);
  } else {
    process.stderr.write(`sqlite: filling a store with ${MESSAGES} messages (${IN_FLIGHT} inserts in flight)…\n`);
    const f = await fill('sqlite', store, now);
    fillSeconds = f.seconds;
    samples = f;
    // Reopen, as the hub would after a restart: the store samples planner statistics at open.
    await store.close();
    store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...KEYS });
  }
  const explain = new Database(dbFile, { readonly: true });
  return {
    backend: 'sqlite',
    store,
    fillSeconds,
    statsMs: null,
    now,
    samples,
    plan: async (q, withCursor, at) => {
      const filter = rowFilter(store, q);
      const after = withCursor ? { receivedAt: at, id: 'z' } : undefined;
      const { sql, values } = buildWhere(filter, () => '?', after);
      // A patient search reads hub_messages through the patient index beside it (sqlite-patient-index.ts).
      const query =
        filter.patientKey === undefined
          ? { sql: `SELECT ${MESSAGE_COLUMNS} FROM hub_messages ${sql} ORDER BY received_at DESC, id DESC LIMIT ?`, values: [...values, PAGE + 1] }
          : patientPageSql({ ...filter, patientKey: filter.patientKey, after, limit: PAGE + 1 }).indexed;
      const rows = explain.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.values) as { detail: string }[];
      return rows
        .filter((r) => !r.detail.startsWith('USE TEMP B-TREE FOR LAST TERM'))
        .map((r) => r.detail.replace(/^SEARCH hub_messages USING (COVERING )?INDEX /, '').replace(/^SCAN hub_messages USING (COVERING )?INDEX /, 'scan '))
        .join('; ');
    },
    sizeBytes: async () => statSync(dbFile).size,
    close: async () => {
      explain.close();
      await store.close();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

interface PgPlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Scan Direction'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Rows Removed by Filter'?: number;
  'Actual Rows'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PgPlanNode[];
}

/** One line per plan, like SQLite's: scans with their index, what the index bounds and what is filtered after. */
function summarizePgPlan(node: PgPlanNode): string {
  const parts: string[] = [];
  const walk = (n: PgPlanNode): void => {
    if (n['Node Type'] === 'Limit' || n['Node Type'] === 'Aggregate') {
      n.Plans?.forEach(walk);
      return;
    }
    let s = n['Node Type'];
    if (n['Scan Direction'] === 'Backward') s += ' backward';
    if (n['Index Name']) s += ` ${n['Index Name']}`;
    const cond = n['Index Cond']?.replace(/::(text|bigint)/g, '').replace(/'[^']*'/g, '?').replace(/\$\d+/g, '?');
    if (cond) s += ` (${cond})`;
    if (n.Filter) s += ` filter ${n.Filter.replace(/::(text|bigint)/g, '').replace(/'[^']*'/g, '?')}${n['Rows Removed by Filter'] ? ` removed ${n['Rows Removed by Filter']}` : ''}`;
    if (n['Actual Rows'] !== undefined && /Scan/.test(n['Node Type'])) s += ` → ${n['Actual Rows']} rows, ${(n['Shared Hit Blocks'] ?? 0) + (n['Shared Read Blocks'] ?? 0)} blocks`;
    parts.push(s);
    n.Plans?.forEach(walk);
  };
  walk(node);
  return parts.join('; ');
}

async function openPostgres(): Promise<Subject> {
  await requirePostgres();
  const keep = process.env.BENCH_PG_KEEP === '1';
  const url = process.env.BENCH_PG_URL ?? (() => {
    const u = new URL(TEST_PG_URL);
    u.pathname = `/${PG_DATABASE}`;
    return u.toString();
  })();
  const dbName = new URL(url).pathname.slice(1);
  const admin = new Client({ connectionString: TEST_PG_URL });
  await admin.connect();
  const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName])).rowCount === 1;
  if (exists && !keep) await admin.query(`DROP DATABASE ${dbName}`);
  if (!exists || !keep) await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();

  const store = await createMessageStore({ url, dataDir: tmpdir(), ...KEYS });
  const explain = new Client({ connectionString: url });
  await explain.connect();
  const have = Number((await explain.query('SELECT COUNT(*) AS n FROM hub_messages')).rows[0].n);
  let now = Date.now();
  let fillSeconds: number | null = null;
  let statsMs: number | null = null;
  let samples: Samples;
  if (have === MESSAGES) {
    now = (await store.search({ limit: 1 })).items[0]!.receivedAt.getTime() + 1;
    samples = samplesOf(now);
    process.stderr.write(`postgres: reusing database ${dbName}\n`);
  } else {
    if (have > 0) await explain.query('TRUNCATE hub_messages');
    process.stderr.write(`postgres: filling database ${dbName} with ${MESSAGES} messages (${IN_FLIGHT} inserts in flight)…\n`);
    const f = await fill('postgres', store, now);
    fillSeconds = f.seconds;
    samples = f;
  }
  const t0 = performance.now();
  await explain.query('ANALYZE hub_messages');
  statsMs = performance.now() - t0;
  return {
    backend: 'postgres',
    store,
    fillSeconds,
    statsMs,
    now,
    samples,
    plan: async (q, withCursor, at) => {
      // The backend's own SQL and parameters; EXPLAIN of an unnamed statement plans for these values, as the driver's query does.
      const { sql, values } = buildWhere(rowFilter(store, q), (n) => `$${n}`, withCursor ? { receivedAt: at, id: 'z' } : undefined);
      values.push(PAGE + 1);
      const res = await explain.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT ${MESSAGE_COLUMNS} FROM hub_messages ${sql} ORDER BY received_at DESC, id DESC LIMIT $${values.length}`, values);
      const doc = res.rows[0]['QUERY PLAN'] as { Plan: PgPlanNode }[];
      return summarizePgPlan(doc[0]!.Plan);
    },
    sizeBytes: async () => Number((await explain.query(`SELECT pg_total_relation_size('hub_messages') AS n`)).rows[0].n),
    close: async () => {
      await explain.end();
      await store.close();
      if (!keep) {
        const a = new Client({ connectionString: TEST_PG_URL });
        await a.connect();
        await a.query(`DROP DATABASE IF EXISTS ${dbName}`);
        await a.end();
      }
    },
  };
}

interface Row {
  query: string;
  rows: number;
  medianMs: number;
  maxMs: number;
  overBudget: boolean;
  plan: string;
}

interface Result {
  backend: 'sqlite' | 'postgres';
  messages: number;
  dbBytes: number;
  fillSeconds: number | null;
  insertsPerSecond: number | null;
  statsMs: number | null;
  rows: Row[];
  overview: { backfillMs: number; tickMedianMs: number; tickMaxMs: number };
  overBudget: string[];
}

async function measure(s: Subject): Promise<Result> {
  const { store, now } = s;
  /** Pages forward untimed to the `page`-th page's cursor, then times that page. */
  const time = async (q: MessageQuery, page: number): Promise<Omit<Row, 'query' | 'overBudget'>> => {
    let cursor: string | undefined;
    for (let p = 1; p < page; p++) {
      const r = await store.search({ ...q, limit: PAGE, cursor });
      if (!r.nextCursor) break;
      cursor = r.nextCursor;
    }
    const runs: number[] = [];
    let rows = 0;
    for (let i = 0; i < RUNS + 1; i++) {
      const t0 = performance.now();
      const r = await store.search({ ...q, limit: PAGE, cursor });
      const ms = performance.now() - t0;
      rows = r.items.length;
      if (i > 0) runs.push(ms); // the first run warms the cache
    }
    return { medianMs: Number(percentileOf(runs, 0.5).toFixed(2)), maxMs: Number(Math.max(...runs).toFixed(2)), plan: await s.plan(q, cursor !== undefined, now), rows };
  };

  const day = (n: number): Date => new Date(now - n * DAY_MS);
  const { sampleControlId, samplePatientId } = s.samples;
  const searches: [string, MessageQuery, number][] = [
    ['control id', { controlId: sampleControlId }, 1],
    ['control id, no match', { controlId: 'NO-SUCH-CONTROL-ID' }, 1],
    ['control id + endpoint', { controlId: sampleControlId, endpoint: 'hl7-intake' }, 1],
    ['patient id (keyed hash)', { patientId: samplePatientId }, 1],
    ['patient id + type', { patientId: samplePatientId, messageType: 'ORU^R01' }, 1],
    ['patient id + status', { patientId: samplePatientId, status: 'sent' }, 1],
    ['type + status (ORU^R01, error)', { messageType: 'ORU^R01', status: 'error' }, 1],
    ['type + status (ORU^R01, error)', { messageType: 'ORU^R01', status: 'error' }, 20],
    ['type + status, rare (DFT^P03, queued)', { messageType: 'DFT^P03', status: 'queued' }, 1],
    ['status (error)', { status: 'error' }, 1],
    ['status (error)', { status: 'error' }, 20],
    ['endpoint + last 24 h', { endpoint: 'lis-mllp', from: day(1) }, 1],
    ['endpoint + last 24 h', { endpoint: 'lis-mllp', from: day(1) }, 20],
    ['endpoint + a day 30 days ago', { endpoint: 'hl7-intake', from: day(31), to: day(30) }, 1],
    ['endpoint + status, rare (sftp-claims, error)', { endpoint: 'sftp-claims', status: 'error' }, 1],
    ['endpoint + type + status + 7 days', { endpoint: 'emr-fhir', messageType: 'ADT^A08', status: 'error', from: day(7) }, 1],
    ['endpoint + direction, no match', { endpoint: 'hl7-intake', direction: 'outbound' }, 1],
    ['endpoint + direction + 7 days, no match', { endpoint: 'hl7-intake', direction: 'outbound', from: day(7) }, 1],
    ['time range only (a day 30 days ago)', { from: day(31), to: day(30) }, 1],
    ['no filter (newest first)', {}, 1],
    ['no filter (newest first)', {}, 20],
    ['direction + status (outbound, queued)', { direction: 'outbound', status: 'queued' }, 1],
  ];
  const rows: Row[] = [];
  for (const [name, q, page] of searches) {
    const t = await time(q, page);
    rows.push({ query: page > 1 ? `${name}, page ${page}` : name, ...t, overBudget: t.maxMs > BUDGET_MS });
  }

  // The overview: one snapshot with its hour backfill, then steady-state ticks.
  const stats = new MonitorStats({ store, tickMs: 3_600_000 });
  let t0 = performance.now();
  await stats.snapshot();
  const backfillMs = performance.now() - t0;
  const ticks: number[] = [];
  for (let i = 0; i < 5; i++) {
    t0 = performance.now();
    await stats.tick();
    ticks.push(performance.now() - t0);
  }
  await stats.close();

  return {
    backend: s.backend,
    messages: MESSAGES,
    dbBytes: await s.sizeBytes(),
    fillSeconds: s.fillSeconds === null ? null : Number(s.fillSeconds.toFixed(1)),
    insertsPerSecond: s.fillSeconds === null ? null : Math.round(MESSAGES / s.fillSeconds),
    statsMs: s.statsMs === null ? null : Math.round(s.statsMs),
    rows,
    overview: { backfillMs: Number(backfillMs.toFixed(1)), tickMedianMs: Number(percentileOf(ticks, 0.5).toFixed(1)), tickMaxMs: Number(Math.max(...ticks).toFixed(1)) },
    overBudget: rows.filter((r) => r.overBudget).map((r) => r.query),
  };
}

function print(r: Result): void {
  const out = process.stdout;
  const name = r.backend === 'sqlite' ? 'SQLite' : 'PostgreSQL';
  const header = ['search (50 a page)', 'rows', 'median ms', 'max ms', `≤ ${BUDGET_MS} ms`, 'plan'];
  const lines = r.rows.map((x) => [x.query, String(x.rows), x.medianMs.toFixed(2), x.maxMs.toFixed(2), x.overBudget ? 'NO' : 'yes', x.plan]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  out.write(`\nMonitor search benchmark: ${name} store of ${r.messages.toLocaleString('en-US')} messages over ${DAYS} days (${(r.dbBytes / 1e9).toFixed(2)} GB), ${new Date().toISOString()}\n`);
  out.write(
    `fill: ${r.fillSeconds === null ? 'reused' : `${r.fillSeconds} s through store.insert (${r.insertsPerSecond!.toLocaleString('en-US')} durable inserts/s, ${IN_FLIGHT} in flight)`}` +
      (r.statsMs === null ? '; statistics sampled by the store at open' : `; ANALYZE ${r.statsMs} ms`) +
      '\n',
  );
  out.write([fmt(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(fmt)].join('\n') + '\n');
  out.write(`overview snapshot: first (with the hour's backfill) ${r.overview.backfillMs} ms; steady tick median ${r.overview.tickMedianMs} ms, max ${r.overview.tickMaxMs} ms\n`);
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const backend of BACKENDS) {
    if (backend !== 'sqlite' && backend !== 'postgres') throw new Error(`BENCH_BACKENDS: unknown backend ${String(backend)} (sqlite, postgres)`);
    const subject = backend === 'sqlite' ? await openSqlite() : await openPostgres();
    try {
      const r = await measure(subject);
      print(r);
      results.push(r);
    } finally {
      await subject.close();
    }
  }
  process.stdout.write(
    JSON.stringify({
      bench: 'monitor-search',
      messages: MESSAGES,
      budgetMs: BUDGET_MS,
      backends: results,
      overBudget: results.flatMap((r) => r.overBudget.map((q) => `${r.backend}: ${q}`)),
    }) + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:search failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
