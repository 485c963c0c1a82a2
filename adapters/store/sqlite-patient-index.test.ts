import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageRow, WriteOp } from './backend';
import { SqliteBackend } from './sqlite-backend';
import { configureConnection, SqliteBatchWriter } from './sqlite-batch-writer';
import { PATIENT_MERGE_ROWS, patientPageSql } from './sqlite-patient-index';
import { SQLITE_SCHEMA } from './sqlite-schema';

function row(id: string, over: Partial<MessageRow> = {}): MessageRow {
  return {
    id, flowId: null, nodeId: 'n1', direction: 'inbound', endpoint: 'lab', controlId: `C-${id}`, messageType: 'ORU^R01',
    sender: 'LIS', receiver: null, patientKey: 'PK-P', status: 'processing', contentType: 'application/hl7-v2', parentId: null,
    attempts: 0, errorCode: null, errorText: null, receivedAt: 1_000, updatedAt: 1, size: 3,
    keyId: 'k1', body: Buffer.from(`sealed-${id}`), ...over,
  };
}
const insert = (r: MessageRow): WriteOp => ({ kind: 'insert', row: r });
const count = (db: Database.Database, table: string): number => db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hub-patient-index-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A store file whose rows for patient PK-P sit in all three places a patient search reads. */
function storeWithRowsEverywhere(file: string): void {
  const db = new Database(file);
  configureConnection(db);
  db.exec(SQLITE_SCHEMA);
  const writer = new SqliteBatchWriter(db, { staging: true });
  writer.write([
    insert(row('m1', { receivedAt: 10 })),
    insert(row('m2', { receivedAt: 40, status: 'sent' })),
    insert(row('x1', { receivedAt: 41, patientKey: 'PK-Q' })),
    insert(row('m3', { receivedAt: 40, status: 'sent' })),
  ]);
  writer.settle();
  writer.mergePatients();
  writer.write([insert(row('p1', { receivedAt: 20 })), insert(row('p2', { receivedAt: 50 })), insert(row('n1', { receivedAt: 55, patientKey: null }))]);
  writer.settle();
  db.close();
}

describe('SQLite patient index beside hub_messages', () => {
  it('finds a patient’s rows once each, newest first, whether merged, pending or still staged, and pages and counts them', async () => {
    const file = join(dir, 'm.db');
    storeWithRowsEverywhere(file);
    const backend = new SqliteBackend({ file });
    const other = new Database(file);
    try {
      configureConnection(other);
      new SqliteBatchWriter(other, { staging: true }).write([insert(row('s1', { receivedAt: 30, status: 'sent' })), insert(row('s2', { receivedAt: 60 }))]);
      // Each place holds some of PK-P's rows, so the search has to read all three.
      expect(count(other, 'hub_patient_index')).toBe(4);
      expect(count(other, 'hub_patient_pending')).toBe(2);
      expect(count(other, 'hub_messages_staged')).toBe(2);

      const all = await backend.search({ patientKey: 'PK-P', limit: 100 });
      expect(all.map((r) => r.id)).toEqual(['s2', 'p2', 'm3', 'm2', 's1', 'p1', 'm1']);
      // Keyset paging across the three: every row once, in the same order.
      const paged: string[] = [];
      let after: { receivedAt: number; id: string } | undefined;
      for (;;) {
        const page = await backend.search({ patientKey: 'PK-P', limit: 2, after });
        paged.push(...page.map((r) => r.id));
        if (page.length < 2) break;
        const last = page[page.length - 1]!;
        after = { receivedAt: last.receivedAt, id: last.id };
      }
      expect(paged).toEqual(all.map((r) => r.id));
      // Other filters apply in each place.
      expect((await backend.search({ patientKey: 'PK-P', status: 'sent', limit: 100 })).map((r) => r.id)).toEqual(['m3', 'm2', 's1']);
      expect((await backend.search({ patientKey: 'PK-P', from: 20, to: 50, limit: 100 })).map((r) => r.id)).toEqual(['m3', 'm2', 's1', 'p1']);
      expect((await backend.search({ patientKey: 'PK-Q', limit: 100 })).map((r) => r.id)).toEqual(['x1']);
      expect(await backend.search({ patientKey: 'PK-NOBODY', limit: 100 })).toEqual([]);
      expect(await backend.count({ patientKey: 'PK-P' })).toBe(7);
      expect(await backend.count({ patientKey: 'PK-P', status: 'sent' })).toBe(3);
      expect(await backend.count({ patientKey: 'PK-P', from: 20, to: 50 })).toBe(4);
      // Without a patient filter nothing changes: every row, with or without a key.
      expect(await backend.count({})).toBe(9);
      // Counts per time bucket add up the same three places.
      const totals = async (filter: { patientKey?: string }): Promise<number[][]> => (await backend.countByTime(filter, 20)).map((b) => [b.bucket, b.total, b.inbound, b.errored]);
      expect(await totals({ patientKey: 'PK-P' })).toEqual([[0, 1, 1, 0], [1, 2, 2, 0], [2, 3, 3, 0], [3, 1, 1, 0]]);
      expect(await totals({})).toEqual([[0, 1, 1, 0], [1, 2, 2, 0], [2, 5, 5, 0], [3, 1, 1, 0]]);
    } finally {
      other.close();
      await backend.close();
    }
  });

  it('merges pending entries into the index once a merge’s worth has gathered, and queues none for rows without a patient', () => {
    const db = new Database(':memory:');
    db.exec(SQLITE_SCHEMA);
    const writer = new SqliteBatchWriter(db, { staging: true });
    const ops = Array.from({ length: PATIENT_MERGE_ROWS - 1 }, (_, i) => insert(row(`r${i}`, { patientKey: `PK-${i % 300}`, receivedAt: i })));
    writer.write([...ops, insert(row('nokey', { patientKey: null }))]);
    writer.settle();
    expect(writer.pendingPatientEntries).toBe(PATIENT_MERGE_ROWS - 1);
    expect(count(db, 'hub_patient_index')).toBe(0);
    writer.write([insert(row('last', { patientKey: 'PK-7', receivedAt: 1e9 }))]);
    writer.settle();
    expect(writer.pendingPatientEntries).toBe(0);
    expect(count(db, 'hub_patient_pending')).toBe(0);
    expect(count(db, 'hub_patient_index')).toBe(PATIENT_MERGE_ROWS);
    // A new writer (the next start) counts what is pending rather than starting from zero.
    writer.write([insert(row('later', { patientKey: 'PK-7' }))]);
    writer.settle();
    expect(new SqliteBatchWriter(db, { staging: true }).pendingPatientEntries).toBe(1);
    db.close();
  });

  it('indexes a row written straight into hub_messages (a store without staging)', async () => {
    const backend = new SqliteBackend({ file: ':memory:' });
    try {
      await backend.write([insert(row('d1', { receivedAt: 5 })), insert(row('d2', { receivedAt: 6, patientKey: 'PK-Q' }))]);
      expect((await backend.search({ patientKey: 'PK-P', limit: 10 })).map((r) => r.id)).toEqual(['d1']);
      expect(await backend.count({ patientKey: 'PK-Q' })).toBe(1);
    } finally {
      await backend.close();
    }
  });

  it('prune takes a pruned row’s entry with it, merged or pending', async () => {
    const file = join(dir, 'm.db');
    storeWithRowsEverywhere(file);
    const backend = new SqliteBackend({ file });
    try {
      // m2 and m3 (sent, merged) go; p1 and p2 (processing, pending) stay; then p2 goes while pending.
      expect(await backend.prune([{ status: 'sent', before: 2 }])).toBe(2);
      const inspect = new Database(file, { readonly: true });
      try {
        expect(inspect.prepare('SELECT mid FROM hub_patient_index ORDER BY mid').pluck().all()).toEqual(['m1', 'x1']);
        await backend.write([{ kind: 'update', id: 'p2', patch: { status: 'error' }, at: 1 }]);
        expect(await backend.prune([{ status: 'error', before: 2 }])).toBe(1);
        expect(inspect.prepare('SELECT mid FROM hub_patient_pending').pluck().all()).toEqual(['p1']);
      } finally {
        inspect.close();
      }
      expect((await backend.search({ patientKey: 'PK-P', limit: 10 })).map((r) => r.id)).toEqual(['p1', 'm1']);
    } finally {
      await backend.close();
    }
  });

  it('moves a store made with the old patient index on hub_messages over to the patient index at open', async () => {
    const file = join(dir, 'm.db');
    const old = new Database(file);
    configureConnection(old);
    old.exec(SQLITE_SCHEMA);
    // What an earlier version left: the index on hub_messages, no patient tables.
    old.exec('DROP TRIGGER hub_messages_patient_unindex; DROP TABLE hub_patient_index; DROP TABLE hub_patient_pending');
    old.exec('CREATE INDEX hub_messages_patient ON hub_messages (patient_key, received_at)');
    old.prepare("INSERT INTO hub_messages (id, direction, endpoint, patient_key, status, content_type, received_at, updated_at, size, key_id, body) VALUES (?, 'inbound', 'lab', ?, 'sent', 'application/hl7-v2', ?, 1, 3, 'k1', x'00')").run('o1', 'PK-P', 10);
    old.prepare("INSERT INTO hub_messages (id, direction, endpoint, patient_key, status, content_type, received_at, updated_at, size, key_id, body) VALUES (?, 'inbound', 'lab', ?, 'sent', 'application/hl7-v2', ?, 1, 3, 'k1', x'00')").run('o2', null, 20);
    old.close();

    const backend = new SqliteBackend({ file });
    try {
      expect((await backend.search({ patientKey: 'PK-P', limit: 10 })).map((r) => r.id)).toEqual(['o1']);
      const inspect = new Database(file, { readonly: true });
      expect(inspect.prepare("SELECT name FROM sqlite_master WHERE name = 'hub_messages_patient'").all()).toEqual([]);
      expect(inspect.prepare('SELECT pk, at, mid FROM hub_patient_index').all()).toEqual([{ pk: 'PK-P', at: 10, mid: 'o1' }]);
      inspect.close();
    } finally {
      await backend.close();
    }
  });

  it('walks the patient index in its own order for a patient search, not the table', () => {
    const db = new Database(':memory:');
    db.exec(SQLITE_SCHEMA);
    const { indexed } = patientPageSql({ patientKey: 'PK-P', status: 'sent', limit: 50, after: { receivedAt: 10, id: 'z' } });
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${indexed.sql}`).all(...indexed.values) as { detail: string }[]).map((r) => r.detail);
    expect(plan[0]).toMatch(/^SEARCH p USING PRIMARY KEY \(pk=\? AND \(at,mid\)<\(\?,\?\)\)/);
    expect(plan[1]).toMatch(/^SEARCH m USING INDEX sqlite_autoindex_hub_messages_1 \(id=\?\)/);
    // Rows come out of the index already newest first: no sort step.
    expect(plan.some((d) => d.includes('TEMP B-TREE'))).toBe(false);
    db.close();
  });
});
