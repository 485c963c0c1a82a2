import Database from 'better-sqlite3';
import { InMemorySentRegistry } from './sent-registry';
import type { SentRegistry, SentRegistryOptions } from './sent-registry';
import { SqliteSentRegistry } from './sqlite-sent-registry';
import { PostgresSentRegistry } from './postgres-sent-registry';
import { disposeThrowawayPools, onThrowawayPool, schemaPool, throwawayPool } from '../../test/support/postgres';

afterEach(disposeThrowawayPools);
const postgres = onThrowawayPool('hub_sent', (pool, o: SentRegistryOptions): SentRegistry => new PostgresSentRegistry(pool, o));

const T0 = new Date('2026-03-01T12:00:00Z');
const later = (ms: number): Date => new Date(T0.getTime() + ms);

describe.each([
  ['InMemorySentRegistry', (o: SentRegistryOptions): SentRegistry => new InMemorySentRegistry(o)],
  ['SqliteSentRegistry', (o: SentRegistryOptions): SentRegistry => new SqliteSentRegistry({ file: ':memory:' }, o)],
  ['PostgresSentRegistry', postgres],
])('%s', (_name, make) => {
  let reg: SentRegistry;
  beforeEach(async () => {
    reg = await make({ sendLeaseMs: 10_000, retentionMs: 24 * 3600_000 });
  });
  afterEach(() => reg.close());

  test('an accepted id is never reserved again', async () => {
    expect(await reg.reserve('m1', 'sms', T0)).toEqual({ status: 'reserved' });
    await reg.markAccepted('m1', 'SM1', later(1));
    const again = await reg.reserve('m1', 'sms', later(2));
    expect(again.status).toBe('already-sent');
    expect(again.status === 'already-sent' && again.record).toMatchObject({ hubMessageId: 'm1', state: 'accepted', providerId: 'SM1' });
    expect(await reg.findByProviderId('SM1')).toMatchObject({ hubMessageId: 'm1' });
  });

  test('a released id may be sent again; a held one is in progress until the lease ends', async () => {
    await reg.reserve('m2', 'email', T0);
    expect((await reg.reserve('m2', 'email', later(1))).status).toBe('in-progress');
    expect((await reg.reserve('m2', 'email', later(10_000))).status).toBe('reserved');
    await reg.release('m2');
    expect(await reg.get('m2')).toBeNull();
    expect((await reg.reserve('m2', 'email', later(10_001))).status).toBe('reserved');
  });

  test('delivery states only move forward and stop at a final one', async () => {
    await reg.reserve('m3', 'sms', T0);
    await reg.markAccepted('m3', 'SM3', T0);
    expect(await reg.advance('m3', 'sent', null, later(1))).toMatchObject({ state: 'sent' });
    expect(await reg.advance('m3', 'accepted', null, later(2))).toBeNull();
    expect(await reg.advance('m3', 'failed', 'TWILIO_30003', later(3))).toMatchObject({ state: 'failed', errorCode: 'TWILIO_30003' });
    expect(await reg.advance('m3', 'delivered', null, later(4))).toBeNull();
    expect(await reg.advance('unknown', 'delivered', null, later(4))).toBeNull();
    expect(await reg.get('m3')).toMatchObject({ state: 'failed', errorCode: 'TWILIO_30003', channel: 'sms' });
  });

  test('a callback faster than the send answer is not undone by markAccepted', async () => {
    await reg.reserve('m4', 'sms', T0);
    await reg.advance('m4', 'delivered', null, later(1));
    await reg.markAccepted('m4', 'SM4', later(2));
    expect(await reg.get('m4')).toMatchObject({ state: 'delivered', providerId: 'SM4' });
  });
});

test('SqliteSentRegistry shares a database it does not own and leaves it open', async () => {
  const db = new Database(':memory:');
  const reg = new SqliteSentRegistry({ db });
  await reg.reserve('x', 'sms', T0);
  await reg.close();
  expect(db.open).toBe(true);
  expect(db.prepare('SELECT count(*) AS n FROM provider_sent').get()).toEqual({ n: 1 });
  db.close();
});

test('PostgresSentRegistry: two hub processes sharing the database reserve the same id at once, and only one may send', async () => {
  const pg = await throwawayPool('hub_sent');
  const other = schemaPool(pg.schema);
  try {
    const a = new PostgresSentRegistry(pg.pool);
    const b = new PostgresSentRegistry(other);
    const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).reserve('shared-1', 'sms', T0)));
    expect(outcomes.filter((o) => o.status === 'reserved')).toHaveLength(1);
    await a.markAccepted('shared-1', 'SM9', later(1));
    // The queue redelivers to the other process: it sees the message was sent.
    expect((await b.reserve('shared-1', 'sms', later(2))).status).toBe('already-sent');
  } finally {
    await other.end();
    await pg.dispose();
  }
});
