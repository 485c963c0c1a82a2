import type { EncryptedMessageStore } from '../../adapters/store';
import { isMessageId, MessageNotFoundError, StoreError } from '../../adapters/store';
import { CANARY_MRN, canaryOru } from '../fixtures/canary';

/**
 * Behaviour every message store backend must show. Each backend's test file
 * calls this with a factory that opens a fresh, empty store.
 */
export function describeMessageStoreContract(name: string, open: () => Promise<EncryptedMessageStore>, cleanup: () => Promise<void> = async () => undefined): void {
  describe(`MessageStore contract: ${name}`, () => {
    let store: EncryptedMessageStore;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    test('insert returns the record and get reads it back with the decrypted body', async () => {
      const body = canaryOru('CTRL-1');
      const rec = await store.insert({ direction: 'inbound', endpoint: 'lis-mllp', controlId: 'CTRL-1', messageType: 'ORU^R01', patientId: CANARY_MRN, body, contentType: 'application/hl7-v2' });
      expect(isMessageId(rec.id)).toBe(true);
      expect(rec.status).toBe('received');
      expect(rec.size).toBe(Buffer.byteLength(body));
      expect(rec.patientKey).toBe(store.patientKey(CANARY_MRN));
      expect(rec.patientKey).not.toContain('CANARY');
      const back = await store.get(rec.id, { includeBody: true });
      expect(back?.body?.toString('utf8')).toBe(body);
      expect(back?.controlId).toBe('CTRL-1');
      expect(back?.receivedAt.getTime()).toBe(rec.receivedAt.getTime());
      const noBody = await store.get(rec.id);
      expect(noBody?.body).toBeUndefined();
    });

    test('get of an unknown id is null', async () => {
      expect(await store.get('00000000-0000-7000-8000-000000000000')).toBeNull();
    });

    test('binary bodies round-trip byte for byte', async () => {
      const body = Buffer.from([0x0b, 0x00, 0xff, 0xfe, 0x1c, 0x0d, 0xe9]);
      const rec = await store.insert({ direction: 'inbound', endpoint: 'astm', body });
      expect((await store.get(rec.id, { includeBody: true }))?.body?.equals(body)).toBe(true);
    });

    test('status lifecycle, attempts and error fields update', async () => {
      const rec = await store.insert({ direction: 'outbound', endpoint: 'emr', body: 'x' });
      await store.update(rec.id, { status: 'processing' });
      await store.update(rec.id, { status: 'error', errorCode: 'NACK', errorText: 'NACK AE for control ID 9', incrementAttempts: true });
      await store.update(rec.id, { incrementAttempts: true });
      const back = await store.get(rec.id);
      expect(back?.status).toBe('error');
      expect(back?.attempts).toBe(2);
      expect(back?.errorCode).toBe('NACK');
      expect(back?.errorText).toBe('NACK AE for control ID 9');
      expect(back!.updatedAt.getTime()).toBeGreaterThanOrEqual(rec.updatedAt.getTime());
    });

    test("a 'soon' update commits on its own and with the next urgent write", async () => {
      const a = await store.insert({ direction: 'inbound', endpoint: 'e', body: 'a' });
      await store.update(a.id, { status: 'sent' }, { durability: 'soon' });
      expect((await store.get(a.id))?.status).toBe('sent');
      const b = await store.insert({ direction: 'inbound', endpoint: 'e', body: 'b' });
      const lazy = store.update(b.id, { status: 'filtered' }, { durability: 'soon' });
      await store.insert({ direction: 'inbound', endpoint: 'e', body: 'c' });
      await lazy;
      expect((await store.get(b.id))?.status).toBe('filtered');
    });

    test('an unknown status is refused on update and on insert', async () => {
      const rec = await store.insert({ direction: 'outbound', endpoint: 'emr', body: 'x' });
      await expect(store.update(rec.id, { status: 'lost' as never })).rejects.toBeInstanceOf(StoreError);
      await expect(store.insert({ direction: 'outbound', endpoint: 'emr', status: 'bogus' as never, body: 'x' })).rejects.toBeInstanceOf(StoreError);
    });

    test('updating an id that is not stored is a typed not-found error', async () => {
      await expect(store.update('00000000-0000-7000-8000-000000000000', { status: 'sent' })).rejects.toBeInstanceOf(MessageNotFoundError);
    });

    test('concurrent inserts all commit, in one or more batches', async () => {
      const recs = await Promise.all(Array.from({ length: 500 }, (_, i) => store.insert({ direction: 'inbound', endpoint: 'bulk', controlId: `B${i}`, body: `body ${i}` })));
      expect(new Set(recs.map((r) => r.id)).size).toBe(500);
      expect(await store.count({ endpoint: 'bulk' })).toBe(500);
      const one = await store.get(recs[321]!.id, { includeBody: true });
      expect(one?.body?.toString()).toBe('body 321');
    });

    test('insert then update in the same batch applies in order', async () => {
      const id = '01890000-0000-7000-8000-00000000abcd';
      const [, ,] = await Promise.all([
        store.insert({ id, direction: 'inbound', endpoint: 'e', body: 'b' }),
        store.update(id, { status: 'processing' }),
        store.update(id, { status: 'sent' }),
      ]);
      expect((await store.get(id))?.status).toBe('sent');
    });

    describe('search', () => {
      const base = Date.UTC(2026, 0, 1);
      beforeEach(async () => {
        const inserts = [];
        for (let i = 0; i < 30; i++) {
          inserts.push(
            store.insert({
              direction: i % 2 ? 'outbound' : 'inbound',
              endpoint: i % 3 === 0 ? 'lis' : 'emr',
              controlId: `C${i}`,
              messageType: i % 5 === 0 ? 'ADT^A04' : 'ORU^R01',
              patientId: i < 10 ? 'MRN-A' : 'MRN-B',
              status: i % 4 === 0 ? 'error' : 'sent',
              receivedAt: new Date(base + i * 60_000),
              body: `m${i}`,
            }),
          );
        }
        await Promise.all(inserts);
      });

      test('counts per time bucket in one query, the same as counting bucket by bucket, with the filter applied', async () => {
        const bucketMs = 7 * 60_000;
        const from = new Date(base + 3 * 60_000);
        const to = new Date(base + 26 * 60_000);
        const grouped = await store.countByTime!({ from, to }, bucketMs);
        const expected = [];
        for (let b = Math.floor(from.getTime() / bucketMs); b * bucketMs < to.getTime(); b++) {
          const range = { from: new Date(Math.max(b * bucketMs, from.getTime())), to: new Date(Math.min((b + 1) * bucketMs, to.getTime())) };
          const total = await store.count(range);
          if (total > 0) expected.push({ bucket: b, total, inbound: await store.count({ ...range, direction: 'inbound' }), errored: await store.count({ ...range, status: 'error' }) });
        }
        expect(grouped).toEqual(expected);
        expect(grouped.reduce((n, b) => n + b.total, 0)).toBe(23);
        const lis = await store.countByTime!({ endpoint: 'lis', from, to }, 60_000);
        expect(lis.map((b) => b.bucket - base / 60_000)).toEqual([3, 6, 9, 12, 15, 18, 21, 24]);
        expect(lis.every((b) => b.total === 1)).toBe(true);
        const patient = await store.countByTime!({ patientId: 'MRN-A' }, 3_600_000);
        expect(patient).toEqual([{ bucket: base / 3_600_000, total: 10, inbound: 5, errored: 3 }]);
        await expect(store.countByTime!({}, 0)).rejects.toThrow(/bucket width/);
      });

      test('by control id', async () => {
        const page = await store.search({ controlId: 'C7' });
        expect(page.items.map((m) => m.controlId)).toEqual(['C7']);
      });

      test('by patient id goes through the keyed hash', async () => {
        expect((await store.search({ patientId: 'mrn-a', limit: 100 })).items).toHaveLength(10);
        expect((await store.search({ patientKey: store.patientKey('MRN-B'), limit: 100 })).items).toHaveLength(20);
      });

      test('by type, status, endpoint, direction and time range, newest first', async () => {
        const page = await store.search({ messageType: 'ORU^R01', status: 'sent', endpoint: 'emr', from: new Date(base + 10 * 60_000), to: new Date(base + 20 * 60_000), limit: 100 });
        const expected = Array.from({ length: 10 }, (_, k) => 10 + k)
          .filter((i) => i % 5 !== 0 && i % 4 !== 0 && i % 3 !== 0)
          .reverse()
          .map((i) => `C${i}`);
        expect(page.items.map((m) => m.controlId)).toEqual(expected);
        const outbound = await store.search({ direction: 'outbound', limit: 100 });
        expect(outbound.items.every((m) => m.direction === 'outbound')).toBe(true);
        expect(outbound.items).toHaveLength(15);
      });

      test('pages with a cursor without gaps or repeats', async () => {
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.search({ limit: 7, cursor });
          seen.push(...page.items.map((m) => m.controlId!));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `C${29 - i}`));
      });

      test('search results carry no body', async () => {
        const page = await store.search({ limit: 5 });
        expect(page.items.every((m) => m.body === undefined)).toBe(true);
      });

      test('an invalid cursor is a typed error', async () => {
        await expect(store.search({ cursor: 'bm9wZQ' })).rejects.toBeInstanceOf(StoreError);
      });
    });

    test('retention prunes terminal statuses by age and never in-flight ones', async () => {
      const old = await store.insert({ direction: 'inbound', endpoint: 'e', status: 'sent', body: 'old' });
      const oldErr = await store.insert({ direction: 'inbound', endpoint: 'e', status: 'error', body: 'old err' });
      const queued = await store.insert({ direction: 'inbound', endpoint: 'e', status: 'queued', body: 'queued' });
      const future = new Date(Date.now() + 40 * 86_400_000);
      const removed = await store.prune({ sent: 30, error: 90, queued: 1 }, future);
      expect(removed).toBe(1);
      expect(await store.get(old.id)).toBeNull();
      expect(await store.get(oldErr.id)).not.toBeNull();
      expect(await store.get(queued.id)).not.toBeNull();
    });

    test('audit log appends and lists newest first with filters', async () => {
      await store.audit.append({ actor: 'admin', action: 'login', ip: '127.0.0.1' });
      await store.audit.append({ actor: 'ana', action: 'flows.deploy', target: 'flows', detail: { rev: 'abc' } });
      await store.audit.append({ actor: 'admin', action: 'message.replay', target: 'm1' });
      const all = await store.audit.list();
      expect(all.map((e) => e.action)).toEqual(['message.replay', 'flows.deploy', 'login']);
      expect(all[1]?.detail).toEqual({ rev: 'abc' });
      expect((await store.audit.list({ actor: 'admin' })).map((e) => e.action)).toEqual(['message.replay', 'login']);
      expect((await store.audit.list({ action: 'login' }))[0]?.ip).toBe('127.0.0.1');
      expect(await store.audit.list({ before: all[1]!.id })).toHaveLength(1);
    });

    test('tokens: insert, find by hash, revoke, purge expired sessions', async () => {
      await store.tokens.insert({ id: 't1', name: 'lis bridge', kind: 'api', subject: 'lis', role: 'operator', hash: 'h1', createdBy: 'admin' });
      await store.tokens.insert({ id: 's1', name: 'login', kind: 'session', subject: 'ana', role: 'analyst', hash: 'h2', createdBy: 'ana', expiresAt: new Date(Date.now() - 1000) });
      const t = await store.tokens.findByHash('h1');
      expect(t).toMatchObject({ id: 't1', role: 'operator', kind: 'api', revokedAt: null });
      expect(await store.tokens.findByHash('nope')).toBeNull();
      expect(await store.tokens.revoke('t1')).toBe(true);
      expect(await store.tokens.revoke('t1')).toBe(false);
      expect((await store.tokens.findByHash('h1'))?.revokedAt).toBeInstanceOf(Date);
      expect(await store.tokens.purgeExpired()).toBe(1);
      expect((await store.tokens.list()).map((x) => x.id)).toEqual(['t1']);
      expect(await store.tokens.list('session')).toEqual([]);
    });

    test('close flushes pending writes and is safe to call twice', async () => {
      const p = store.insert({ direction: 'inbound', endpoint: 'e', body: 'late' });
      await store.close();
      await store.close();
      await expect(p).resolves.toMatchObject({ endpoint: 'e' });
      store = await open();
    });
  });
}
