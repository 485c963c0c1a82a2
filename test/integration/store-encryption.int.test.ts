import Database from 'better-sqlite3';
import { Client } from 'pg';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BodyCipher, createMessageStore, CryptoError } from '../../adapters/store';
import { CANARY_DOB, CANARY_MRN, canaryOru } from '../fixtures/canary';
import { dropSchema, requirePostgres, TEST_PG_URL, throwawaySchema } from '../support/postgres';
import { testStoreKeys } from '../support/store-keys';

const CANARIES = [CANARY_MRN, 'CANARYSURNAME', CANARY_DOB];

describe('bodies are encrypted at rest', () => {
  test('the raw SQLite files hold no plaintext of a stored body or MRN', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-enc-'));
    const store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
    for (let i = 0; i < 50; i++) await store.insert({ direction: 'inbound', endpoint: 'lis', controlId: `E${i}`, patientId: CANARY_MRN, body: canaryOru(`E${i}`) });
    // Check the WAL before the checkpoint and the main file after it.
    const walBytes = Buffer.concat(readdirSync(join(dir, 'store')).map((f) => readFileSync(join(dir, 'store', f))));
    await store.close();
    const db = new Database(join(dir, 'store', 'messages.db'));
    const rowText = JSON.stringify(db.prepare('SELECT * FROM hub_messages').all());
    db.close();
    const fileBytes = Buffer.concat(readdirSync(join(dir, 'store')).map((f) => readFileSync(join(dir, 'store', f))));
    for (const c of CANARIES) {
      expect(walBytes.includes(Buffer.from(c))).toBe(false);
      expect(fileBytes.includes(Buffer.from(c))).toBe(false);
      expect(rowText).not.toContain(c);
    }
    expect(fileBytes.includes(Buffer.from('E49'))).toBe(true); // metadata is there, so the file was really written
  });

  test('the PostgreSQL table holds no plaintext of a stored body or MRN', async () => {
    await requirePostgres();
    const schema = throwawaySchema();
    const store = await createMessageStore({ url: TEST_PG_URL, dataDir: '/nonexistent', schema, ...testStoreKeys() });
    try {
      for (let i = 0; i < 20; i++) await store.insert({ direction: 'inbound', endpoint: 'lis', controlId: `P${i}`, patientId: CANARY_MRN, body: canaryOru(`P${i}`) });
      const client = new Client({ connectionString: TEST_PG_URL });
      await client.connect();
      try {
        const res = await client.query(`SELECT t::text AS row, encode(body, 'escape') AS body FROM ${schema}.hub_messages t`);
        expect(res.rows).toHaveLength(20);
        for (const r of res.rows as { row: string; body: string }[]) for (const c of CANARIES) {
          expect(r.row).not.toContain(c);
          expect(r.body).not.toContain(c);
        }
      } finally {
        await client.end();
      }
    } finally {
      await store.close();
      await dropSchema(schema);
    }
  });

  test('keys rotate: old bodies stay readable, new ones use the new key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-rot-'));
    const k = testStoreKeys();
    const before = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...k });
    const old = await before.insert({ direction: 'inbound', endpoint: 'e', body: 'old body' });
    await before.close();
    const k2 = { ...k, keys: { k2: Buffer.alloc(32, 7), ...k.keys }, activeKeyId: 'k2' };
    const after = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...k2 });
    const fresh = await after.insert({ direction: 'inbound', endpoint: 'e', body: 'new body' });
    expect(fresh.keyId).toBe('k2');
    expect((await after.get(old.id, { includeBody: true }))?.body?.toString()).toBe('old body');
    expect((await after.get(fresh.id, { includeBody: true }))?.body?.toString()).toBe('new body');
    await after.close();
  });

  test('a body sealed for one message does not open as another', () => {
    const cipher = new BodyCipher({ k: Buffer.alloc(32, 1) }, 'k');
    const { sealed, keyId } = cipher.seal(Buffer.from(canaryOru('X')), 'id-a');
    expect(() => cipher.open(sealed, keyId, 'id-b')).toThrow(CryptoError);
    try {
      cipher.open(sealed, keyId, 'id-b');
    } catch (err) {
      expect((err as Error).message).not.toContain('CANARY');
    }
  });
});
