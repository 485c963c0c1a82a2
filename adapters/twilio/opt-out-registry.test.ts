import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProviderConfigError } from '../phi-guard/errors';
import { InMemoryOptOutRegistry } from './opt-out-registry';
import type { OptOutRegistry } from './opt-out-registry';
import { SqliteOptOutRegistry } from './sqlite-opt-out-registry';
import { PostgresOptOutRegistry } from './postgres-opt-out-registry';
import { disposeThrowawayPools, onThrowawayPool, schemaPool, throwawayPool } from '../../test/support/postgres';

afterEach(disposeThrowawayPools);
const postgres = onThrowawayPool('hub_optout', (pool): OptOutRegistry => new PostgresOptOutRegistry(pool, { secret }));

const dir = mkdtempSync(join(tmpdir(), 'optout-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = randomBytes(32);
let n = 0;

const T0 = new Date('2026-03-01T12:00:00Z');
const later = (ms: number): Date => new Date(T0.getTime() + ms);
const PHONE = '+15005550006';

describe.each([
  ['InMemoryOptOutRegistry', (): OptOutRegistry => new InMemoryOptOutRegistry()],
  ['SqliteOptOutRegistry', (): OptOutRegistry => new SqliteOptOutRegistry({ file: join(dir, `r${n++}.db`) }, { secret })],
  ['PostgresOptOutRegistry', postgres],
])('%s', (_name, make) => {
  let reg: OptOutRegistry;
  beforeEach(async () => {
    reg = await make();
  });
  afterEach(() => reg.close());

  test('STOP opts out, START opts back in', async () => {
    expect(await reg.isOptedOut(PHONE)).toBe(false);
    await reg.optOut(PHONE, T0, 'keyword');
    expect(await reg.isOptedOut(PHONE)).toBe(true);
    expect(await reg.isOptedOut('+15005550007')).toBe(false);
    await reg.optIn(PHONE, later(1000), 'keyword');
    expect(await reg.isOptedOut(PHONE)).toBe(false);
  });

  test('an older change processed late does not override a newer one', async () => {
    await reg.optOut(PHONE, later(2000), 'keyword');
    await reg.optIn(PHONE, later(1000), 'keyword');
    expect(await reg.isOptedOut(PHONE)).toBe(true);
  });
});

test('SqliteOptOutRegistry stores no phone number in the clear and survives reopening', async () => {
  const file = join(dir, 'plain.db');
  const a = new SqliteOptOutRegistry({ file }, { secret });
  await a.optOut(PHONE, T0, 'keyword');
  await a.close();
  for (const f of readdirSync(dir).filter((x) => x.startsWith('plain.db'))) {
    const bytes = readFileSync(join(dir, f));
    expect(bytes.includes(Buffer.from(PHONE))).toBe(false);
    expect(bytes.includes(Buffer.from(PHONE.slice(1)))).toBe(false);
  }
  const b = new SqliteOptOutRegistry({ file }, { secret });
  expect(await b.isOptedOut(PHONE)).toBe(true);
  await b.close();
  const otherKey = new SqliteOptOutRegistry({ file }, { secret: randomBytes(32) });
  expect(await otherKey.isOptedOut(PHONE)).toBe(false);
  await otherKey.close();
});

test('SqliteOptOutRegistry needs a real secret', () => {
  expect(() => new SqliteOptOutRegistry({ file: ':memory:' }, { secret: Buffer.alloc(8) })).toThrow(ProviderConfigError);
});

test('PostgresOptOutRegistry: a STOP that reached one hub process stops the others too, with no number in the clear', async () => {
  const pg = await throwawayPool('hub_optout');
  const other = schemaPool(pg.schema);
  try {
    await new PostgresOptOutRegistry(pg.pool, { secret }).optOut(PHONE, T0, 'keyword');
    expect(await new PostgresOptOutRegistry(other, { secret }).isOptedOut(PHONE)).toBe(true);
    const rows = (await pg.pool.query('SELECT * FROM sms_opt_outs')).rows as Record<string, unknown>[];
    expect(JSON.stringify(rows)).not.toContain(PHONE.slice(1));
  } finally {
    await other.end();
    await pg.dispose();
  }
});
