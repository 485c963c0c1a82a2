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
import { PostgresOptOutRegistry } from '../../adapters/twilio';
import { dropSchema, requirePostgres, TEST_PG_URL, throwawaySchema } from '../../test/support/postgres';
import { testStoreKeys } from '../../test/support/store-keys';
import { sharedOptOuts, sharedReplayStore, sharedSentRegistry } from './provider-state';

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
});
