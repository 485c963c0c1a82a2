/**
 * `npm run bench:search`: the monitor's message searches on a SQLite store of
 * 1,000,000 messages (BENCH_MESSAGES to change), each timed as the API runs
 * it (store.search, 50 a page, keyset cursor), plus the overview's snapshot
 * (MonitorStats: backfill of the hour, then a steady-state tick).
 *
 * The store is filled through its public insert() (encryption, patient-key
 * hashing and group commit included), 2,000 in flight at a time, with receipt
 * times spread over 90 days in arrival order, as a hub would have written them.
 * Prints a table (with SQLite's query plan for each search) and one JSON line.
 *
 * BENCH_DB=/path/dir keeps the filled store there and reuses it on the next
 * run (fixed bench keys), for trying index changes without refilling.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createMessageStore } from '../../adapters/store';
import type { Direction, EncryptedMessageStore, MessageQuery, MessageStatus, NewMessage } from '../../adapters/store';
import { buildWhere, MESSAGE_COLUMNS } from '../../adapters/store/backend';
import { MonitorStats } from '../../hub/monitor/monitor-stats';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const IN_FLIGHT = 2_000;
const DAYS = 90;
const PATIENTS = 50_000;
const PAGE = 50;
const RUNS = 7;
const BUDGET_MS = 200;
const DAY_MS = 86_400_000;

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

async function fill(store: EncryptedMessageStore, now: number): Promise<{ seconds: number; sampleControlId: string; samplePatientId: string }> {
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
    if ((base / IN_FLIGHT) % 50 === 0) process.stderr.write(`\rfilling: ${base + batch.length} / ${MESSAGES}`);
  }
  process.stderr.write('\n');
  return { seconds: (performance.now() - t0) / 1000, sampleControlId, samplePatientId };
}

interface Timing {
  medianMs: number;
  maxMs: number;
  plan: string;
}

/**
 * The phases each search runs in: the store as it is today (no planner
 * statistics: nothing runs ANALYZE), then with the proposed `PRAGMA optimize`
 * at open, then also with the proposed filter-covering indexes.
 */
const PHASES = ['as is', 'optimize', 'optimize + covering indexes'] as const;
type Phase = (typeof PHASES)[number];

interface Row {
  query: string;
  rows: number;
  timings: Record<Phase, Timing>;
  overBudgetAsIs: boolean;
  overBudgetProposed: boolean;
}

/** The proposed SqliteBackend change: planner statistics, sampled (analysis_limit) so a large store opens quickly. */
export function optimizeSql(db: Database.Database): void {
  db.pragma('analysis_limit = 1000');
  db.pragma('optimize = 0x10002');
}

/**
 * The proposed schema change: the per-column indexes also carry the other
 * low-cardinality filter columns, so SQLite rejects non-matching rows from
 * the index without reading the table row (a no-match scan of 350,000
 * entries: index-only instead of 350,000 row reads).
 */
export const COVERING_INDEXES = `
DROP INDEX IF EXISTS hub_messages_endpoint;
DROP INDEX IF EXISTS hub_messages_type;
DROP INDEX IF EXISTS hub_messages_status;
CREATE INDEX IF NOT EXISTS hub_messages_endpoint_f ON hub_messages (endpoint, received_at, direction, status, message_type);
CREATE INDEX IF NOT EXISTS hub_messages_type_f ON hub_messages (message_type, received_at, direction, status, endpoint);
CREATE INDEX IF NOT EXISTS hub_messages_status_f ON hub_messages (status, received_at, direction, endpoint, message_type);
`;

function percentileOf(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
}

async function main(): Promise<void> {
  const keep = process.env.BENCH_DB;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'hub-bench-search-'));
  const dbFile = join(dir, 'store', 'messages.db');
  const reuse = keep !== undefined && existsSync(dbFile);
  if (reuse) {
    // Back to the store as the hub writes it today: no planner statistics, the
    // original indexes (opening the store below recreates them).
    const db = new Database(dbFile);
    db.exec(
      'DROP TABLE IF EXISTS sqlite_stat1; DROP TABLE IF EXISTS sqlite_stat4; ' +
        ['hub_messages_endpoint_f', 'hub_messages_type_f', 'hub_messages_status_f', 'hub_messages_endpoint', 'hub_messages_type', 'hub_messages_status'].map((i) => `DROP INDEX IF EXISTS ${i};`).join(' '),
    );
    db.close();
  }
  // Fixed keys: a kept store must hash patient ids the same way on the next run. Bench data only.
  const keys = { keys: { bench: Buffer.alloc(32, 7) }, activeKeyId: 'bench', patientKeySecret: Buffer.alloc(32, 9) };
  const store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...keys });
  let now = Date.now();
  let filled: Awaited<ReturnType<typeof fill>>;
  if (reuse) {
    // Same generator, same seed: the samples are the ones the fill used.
    const newest = (await store.search({ limit: 1 })).items[0]!.receivedAt.getTime();
    now = newest + 1;
    const gen = generator(now);
    let g = gen(0);
    for (let i = 1; i <= Math.floor(MESSAGES / 2); i++) g = gen(i);
    filled = { seconds: NaN, sampleControlId: g.controlId, samplePatientId: g.patientId };
    process.stderr.write(`bench:search: reusing ${dbFile}\n`);
  } else {
    process.stderr.write(`bench:search: filling a SQLite store with ${MESSAGES} messages (${IN_FLIGHT} inserts in flight)…\n`);
    filled = await fill(store, now);
  }
  let explain = new Database(dbFile, { readonly: true });

  const plan = (q: MessageQuery, withCursor: boolean): string => {
    const { sql, values } = buildWhere(
      { controlId: q.controlId, patientKey: q.patientId ? store.patientKey(q.patientId) : undefined, messageType: q.messageType, status: q.status, endpoint: q.endpoint, direction: q.direction, from: q.from?.getTime(), to: q.to?.getTime() },
      () => '?',
      withCursor ? { receivedAt: now, id: 'z' } : undefined,
    );
    const rows = explain.prepare(`EXPLAIN QUERY PLAN SELECT ${MESSAGE_COLUMNS} FROM hub_messages ${sql} ORDER BY received_at DESC, id DESC LIMIT ?`).all(...values, PAGE + 1) as { detail: string }[];
    return rows
      .filter((r) => !r.detail.startsWith('USE TEMP B-TREE FOR LAST TERM'))
      .map((r) => r.detail.replace(/^SEARCH hub_messages USING (COVERING )?INDEX /, '').replace(/^SCAN hub_messages USING (COVERING )?INDEX /, 'scan ')).join('; ');
  };

  /** Pages forward untimed to the `page`-th page's cursor, then times that page. */
  const time = async (q: MessageQuery, page: number): Promise<Timing & { rows: number }> => {
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
      if (i > 0) runs.push(ms); // the first run warms the page cache
    }
    return { medianMs: Number(percentileOf(runs, 0.5).toFixed(2)), maxMs: Number(Math.max(...runs).toFixed(2)), plan: plan(q, cursor !== undefined), rows };
  };

  const day = (n: number): Date => new Date(now - n * DAY_MS);
  const searches: [string, MessageQuery, number][] = [
    ['control id', { controlId: filled.sampleControlId }, 1],
    ['control id, no match', { controlId: 'NO-SUCH-CONTROL-ID' }, 1],
    ['control id + endpoint', { controlId: filled.sampleControlId, endpoint: 'hl7-intake' }, 1],
    ['patient id (keyed hash)', { patientId: filled.samplePatientId }, 1],
    ['patient id + type', { patientId: filled.samplePatientId, messageType: 'ORU^R01' }, 1],
    ['patient id + status', { patientId: filled.samplePatientId, status: 'sent' }, 1],
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
  const results = new Map<Phase, (Timing & { rows: number })[]>();
  const prepareMs: Record<Phase, number> = { 'as is': 0, optimize: 0, 'optimize + covering indexes': 0 };
  for (const phase of PHASES) {
    if (phase !== 'as is') {
      // A separate connection, as the backend's own would be at open; the store's searches prepare afresh and see the change.
      const db = new Database(dbFile);
      const t0 = performance.now();
      if (phase === 'optimize + covering indexes') db.exec(COVERING_INDEXES);
      optimizeSql(db);
      prepareMs[phase] = Number((performance.now() - t0).toFixed(0));
      db.close();
      explain.close();
      explain = new Database(dbFile, { readonly: true });
    }
    const list: (Timing & { rows: number })[] = [];
    for (const [, q, page] of searches) list.push(await time(q, page));
    results.set(phase, list);
  }
  const last = PHASES[PHASES.length - 1]!;
  const rows: Row[] = searches.map(([name, , page], i) => {
    const timings = Object.fromEntries(PHASES.map((ph) => [ph, (({ rows: _r, ...t }) => t)(results.get(ph)![i]!)])) as Record<Phase, Timing>;
    return {
      query: page > 1 ? `${name}, page ${page}` : name,
      rows: results.get('as is')![i]!.rows,
      timings,
      overBudgetAsIs: timings['as is'].maxMs > BUDGET_MS,
      overBudgetProposed: timings[last].maxMs > BUDGET_MS,
    };
  });

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

  explain.close();
  const dbBytes = statSync(dbFile).size;
  await store.close();
  if (!keep) rmSync(dir, { recursive: true, force: true });

  const header = ['search (50 a page)', 'rows', ...PHASES.flatMap((ph) => [`${ph}: median ms`, 'max ms']), `all ≤ ${BUDGET_MS} ms`, `index used (${last})`];
  const lines = rows.map((r) => [
    r.query,
    String(r.rows),
    ...PHASES.flatMap((ph) => [r.timings[ph].medianMs.toFixed(2), r.timings[ph].maxMs.toFixed(2)]),
    r.overBudgetAsIs ? (r.overBudgetProposed ? 'NO' : 'as is: NO') : 'yes',
    r.timings[last].plan,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  const out = process.stdout;
  out.write(`Monitor search benchmark: SQLite store of ${MESSAGES.toLocaleString('en-US')} messages over ${DAYS} days (${(dbBytes / 1e9).toFixed(2)} GB at the end), ${new Date().toISOString()}\n`);
  out.write(
    `fill: ${reuse ? 'reused' : `${filled.seconds.toFixed(1)} s through store.insert (${Math.round(MESSAGES / filled.seconds).toLocaleString('en-US')} durable inserts/s, ${IN_FLIGHT} in flight)`}; ` +
      `PRAGMA optimize (sampled) ${prepareMs.optimize} ms; covering indexes + optimize ${prepareMs['optimize + covering indexes']} ms\n`,
  );
  out.write([fmt(header), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...lines.map(fmt)].join('\n') + '\n');
  out.write(`overview snapshot: first (with the hour's backfill) ${backfillMs.toFixed(1)} ms; steady tick median ${percentileOf(ticks, 0.5).toFixed(1)} ms, max ${Math.max(...ticks).toFixed(1)} ms\n`);
  out.write(
    JSON.stringify({
      bench: 'monitor-search',
      messages: MESSAGES,
      dbBytes,
      fillSeconds: reuse ? null : Number(filled.seconds.toFixed(1)),
      prepareMs,
      rows,
      overview: { backfillMs: Number(backfillMs.toFixed(1)), tickMedianMs: Number(percentileOf(ticks, 0.5).toFixed(1)), tickMaxMs: Number(Math.max(...ticks).toFixed(1)) },
      overBudgetAsIs: rows.filter((r) => r.overBudgetAsIs).map((r) => r.query),
      overBudgetProposed: rows.filter((r) => r.overBudgetProposed).map((r) => r.query),
    }) + '\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:search failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
