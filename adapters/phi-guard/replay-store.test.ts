import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemoryReplayStore } from './replay-store';
import type { ReplayStore, ReplayStoreOptions } from './replay-store';
import { SqliteReplayStore } from './sqlite-replay-store';
import { PostgresReplayStore } from './postgres-replay-store';
import { disposeThrowawayPools, onThrowawayPool } from '../../test/support/postgres';

afterEach(disposeThrowawayPools);
const postgresFactory = onThrowawayPool('hub_replay', (pool, options: ReplayStoreOptions): ReplayStore => new PostgresReplayStore(pool, options));

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function sqliteFactory(options: ReplayStoreOptions): ReplayStore {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  dirs.push(dir);
  return new SqliteReplayStore({ file: join(dir, 'providers.db') }, options);
}

const T0 = new Date('2026-03-01T12:00:00Z');
const later = (ms: number): Date => new Date(T0.getTime() + ms);

describe.each([
  ['InMemoryReplayStore', (o: ReplayStoreOptions): ReplayStore => new InMemoryReplayStore(o)],
  ['SqliteReplayStore', sqliteFactory],
  ['PostgresReplayStore', postgresFactory],
])('%s', (_name, make) => {
  let store: ReplayStore;
  beforeEach(async () => {
    store = await make({ retentionMs: 3_600_000, claimTimeoutMs: 60_000 });
  });
  afterEach(() => store.close());

  test('claims a key once; a completed key is processed until retention ends', async () => {
    expect(await store.claim('stripe:evt_1', T0)).toBe('claimed');
    expect(await store.claim('stripe:evt_1', later(1))).toBe('in-progress');
    await store.complete('stripe:evt_1', later(2));
    expect(await store.claim('stripe:evt_1', later(3))).toBe('processed');
    expect(await store.claim('stripe:evt_1', later(3_600_001))).toBe('processed');
    expect(await store.claim('stripe:evt_1', later(3_600_003))).toBe('claimed');
  });

  test('a released claim can be taken again; release never undoes a completed key', async () => {
    expect(await store.claim('k', T0)).toBe('claimed');
    await store.release('k');
    expect(await store.claim('k', later(1))).toBe('claimed');
    await store.complete('k', later(2));
    await store.release('k');
    expect(await store.claim('k', later(3))).toBe('processed');
  });

  test('an abandoned claim lapses after the claim timeout', async () => {
    expect(await store.claim('k', T0)).toBe('claimed');
    expect(await store.claim('k', later(59_999))).toBe('in-progress');
    expect(await store.claim('k', later(60_000))).toBe('claimed');
  });

  test('close is idempotent', async () => {
    await store.close();
    await store.close();
  });
});

test('SqliteReplayStore remembers across reopening the file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'replay-'));
  dirs.push(dir);
  const file = join(dir, 'p.db');
  const a = new SqliteReplayStore({ file });
  expect(await a.claim('sendgrid:abc', T0)).toBe('claimed');
  await a.complete('sendgrid:abc', T0);
  await a.close();
  const b = new SqliteReplayStore({ file });
  expect(await b.claim('sendgrid:abc', later(1000))).toBe('processed');
  await b.close();
});

test('InMemoryReplayStore drops the oldest keys beyond maxEntries', async () => {
  const store = new InMemoryReplayStore({ maxEntries: 3 });
  for (let i = 0; i < 5; i++) {
    await store.claim(`k${i}`, T0);
    await store.complete(`k${i}`, T0);
  }
  expect(await store.claim('k4', T0)).toBe('processed');
  expect(await store.claim('k0', T0)).toBe('claimed');
});
