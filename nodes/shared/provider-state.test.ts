import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeAPI } from 'node-red';
import { PostgresReplayStore, PostgresSentRegistry } from '../../adapters/phi-guard';
import { HealthRegistry } from '../../adapters/shared/health-registry';
import { silentLogger } from '../../adapters/shared/logger';
import { clearHubServices, setHubServices } from '../../adapters/shared/registry';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { PostgresReminderSchedule, SqliteReminderSchedule } from '../../adapters/messaging';
import { PostgresOptOutRegistry, SqliteOptOutRegistry } from '../../adapters/twilio';
import { dropSchema, requirePostgres, TEST_PG_URL, throwawaySchema } from '../../test/support/postgres';
import { testStoreKeys } from '../../test/support/store-keys';
import { providerStateFile } from '../x12-837p/hub-data';
import { sharedOptOuts, sharedReplayStore, sharedSentRegistry, withSqlite } from './provider-state';

const PHONE = '+15005550006';
const T0 = new Date('2026-03-01T12:00:00Z');

/** Only PostgreSQL is used below; a runtime without a user dir would fall back to memory. */
const RED = { settings: {} } as unknown as NodeAPI;

describe('provider state with a PostgreSQL store', () => {
  const schema = throwawaySchema('hub_provider');
  const dir = mkdtempSync(join(tmpdir(), 'provider-state-'));
  const keys = testStoreKeys();
  let a: EncryptedMessageStore;
  let b: EncryptedMessageStore;

  beforeAll(async () => {
    await requirePostgres();
    // Two hub processes: two stores (two pools) on one database and schema.
    a = await createMessageStore({ url: TEST_PG_URL, dataDir: dir, schema, ...keys });
    b = await createMessageStore({ url: TEST_PG_URL, dataDir: dir, schema, ...keys });
  });
  afterAll(async () => {
    clearHubServices();
    await a?.close();
    await b?.close();
    await dropSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  const asHub = (store: EncryptedMessageStore): void => setHubServices({ store, logger: silentLogger, health: new HealthRegistry() });

  test('lives in the database, so a STOP and a sent mark recorded by one hub process bind the other', async () => {
    const secret = randomBytes(32);
    asHub(a);
    const optOutsA = sharedOptOuts(RED, secret);
    const sentA = sharedSentRegistry(RED);
    const replaysA = sharedReplayStore(RED);
    asHub(b);
    const optOutsB = sharedOptOuts(RED, secret);
    const sentB = sharedSentRegistry(RED);
    const replaysB = sharedReplayStore(RED);
    try {
      expect(optOutsA.value).toBeInstanceOf(PostgresOptOutRegistry);
      expect(sentA.value).toBeInstanceOf(PostgresSentRegistry);
      expect(replaysA.value).toBeInstanceOf(PostgresReplayStore);
      // Each process holds its own instance (its own pool), over the same tables.
      expect(optOutsB.value).not.toBe(optOutsA.value);

      await optOutsA.value.optOut(PHONE, T0, 'keyword');
      expect(await optOutsB.value.isOptedOut(PHONE)).toBe(true);

      expect(await sentA.value.reserve('hub-msg-1', 'sms', T0)).toEqual({ status: 'reserved' });
      await sentA.value.markAccepted('hub-msg-1', 'SM1', T0);
      expect((await sentB.value.reserve('hub-msg-1', 'sms', T0)).status).toBe('already-sent');

      expect(await replaysA.value.claim('evt-1', T0)).toBe('claimed');
      await replaysA.value.complete('evt-1', T0);
      expect(await replaysB.value.claim('evt-1', T0)).toBe('processed');
    } finally {
      for (const h of [optOutsA, sentA, replaysA, optOutsB, sentB, replaysB]) await h.release();
    }
  });

  test('moving a hub to PostgreSQL carries its STOPs and its pending reminders over: nothing recorded before is lost', async () => {
    const secret = randomBytes(32);
    // The hub as it ran on SQLite: a STOP, a START for another number, and two reminders, one already fired.
    const userDir = join(mkdtempSync(join(tmpdir(), 'hub-moved-')), 'node-red');
    const moved = { settings: { userDir } } as unknown as NodeAPI;
    const file = providerStateFile(moved)!;
    const before = new SqliteOptOutRegistry({ file }, { secret });
    await before.optOut('+15005550009', T0, 'keyword');
    await before.optOut('+15005550010', T0, 'keyword');
    await before.optIn('+15005550010', new Date(T0.getTime() + 1000), 'keyword');
    await before.close();
    const reminders = join(file, '..', 'reminders.db');
    const schedule = new SqliteReminderSchedule({ file: reminders });
    await schedule.add([{ id: 'rem-a', appointmentKey: 'k1', dueAt: new Date('2026-12-10T10:00:00Z') }, { id: 'rem-b', appointmentKey: 'k1', dueAt: new Date('2026-12-09T10:00:00Z') }], T0);
    await schedule.markFired('rem-b', T0);
    await schedule.close();

    asHub(a);
    const optOuts = sharedOptOuts(moved, secret);
    try {
      expect(await optOuts.value.isOptedOut('+15005550009')).toBe(true);
      expect(await optOuts.value.isOptedOut('+15005550010')).toBe(false);
    } finally {
      await optOuts.release();
    }
    const carried = new PostgresReminderSchedule(a.sharedPool!, { carryOver: () => withSqlite(() => new SqliteReminderSchedule({ file: reminders }), (s) => s.pendingReminders()) });
    expect((await carried.due(new Date('2026-12-11T00:00:00Z'), 10)).map((r) => r.id)).toEqual(['rem-a']);
  });
});
