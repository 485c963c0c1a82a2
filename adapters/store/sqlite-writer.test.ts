import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MessageRow, WriteOp } from './backend';
import { SqliteBackend } from './sqlite-backend';
import { configureConnection, SqliteBatchWriter } from './sqlite-batch-writer';
import { SQLITE_SCHEMA } from './sqlite-schema';
import { packOps, unpackOps } from './sqlite-write-codec';
import { SqliteWriterClient } from './sqlite-writer-client';

function row(id: string, over: Partial<MessageRow> = {}): MessageRow {
  return {
    id, flowId: null, nodeId: 'n1', direction: 'inbound', endpoint: 'lab', controlId: `C-${id}`, messageType: 'ORU^R01',
    sender: 'LIS', receiver: null, patientKey: 'pk', status: 'processing', contentType: 'application/hl7-v2', parentId: null,
    attempts: 0, errorCode: null, errorText: null, receivedAt: 1_700_000_000_000, updatedAt: 1_700_000_000_001, size: 3,
    keyId: 'k1', body: Buffer.from(`sealed-${id}`), ...over,
  };
}

const insert = (r: MessageRow): WriteOp => ({ kind: 'insert', row: r });
const statusOf = (db: Database.Database, id: string): unknown => (db.prepare('SELECT status FROM hub_messages WHERE id = ?').get(id) as { status?: string } | undefined)?.status;

describe('sqlite write codec', () => {
  it('round-trips inserts and updates, keeping null apart from absent patch fields', () => {
    const ops: WriteOp[] = [
      insert(row('a', { errorCode: 'PARSE', errorText: 'bad', parentId: 'p', flowId: 'f' })),
      { kind: 'update', id: 'a', at: 5, patch: { status: 'sent' } },
      { kind: 'update', id: 'b', at: 6, patch: { status: 'error', errorCode: null, errorText: 'x', incrementAttempts: true } },
      { kind: 'update', id: 'c', at: 7, patch: {} },
      insert(row('d', { body: Buffer.alloc(0) })),
    ];
    const packed = packOps(ops);
    // Bodies travel in one transferable buffer, not inside the op list.
    expect(packed.bodies.byteLength).toBe(Buffer.from('sealed-a').length);
    expect(packed.flat.every((v) => v === null || typeof v === 'string' || typeof v === 'number')).toBe(true);
    expect(unpackOps(packed)).toEqual(ops);
  });
});

describe('SqliteBatchWriter.writeMany', () => {
  it('commits several batches together and rolls back only a failing one', () => {
    const db = new Database(':memory:');
    db.exec(SQLITE_SCHEMA);
    const writer = new SqliteBatchWriter(db);
    writer.write([insert(row('dup'))]);
    const out = writer.writeMany([
      [insert(row('one')), { kind: 'update', id: 'dup', patch: { status: 'sent' }, at: 2 }],
      [insert(row('two')), insert(row('dup'))],
      [insert(row('three')), { kind: 'update', id: 'missing', patch: { status: 'sent' }, at: 2 }],
    ]);
    expect(out[0]).toEqual([1, 1]);
    expect(out[1]).toBeInstanceOf(Error);
    expect(out[2]).toEqual([1, 0]);
    expect(statusOf(db, 'one')).toBe('processing');
    expect(statusOf(db, 'dup')).toBe('sent');
    // The failed batch left nothing behind, not even its first, valid insert.
    expect(statusOf(db, 'two')).toBeUndefined();
    expect(statusOf(db, 'three')).toBe('processing');
    db.close();
  });
});

describe('SqliteWriterClient', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hub-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes batches without waiting for earlier ones, applies them in order, and fails a bad one alone', async () => {
    const file = join(dir, 'm.db');
    const setup = new Database(file);
    configureConnection(setup);
    setup.exec(SQLITE_SCHEMA);
    setup.close();
    const client = new SqliteWriterClient(file);
    try {
      const writes = [
        client.write([insert(row('m1'))]),
        client.write([{ kind: 'update', id: 'm1', patch: { status: 'sent' }, at: 9 }]),
        client.write([insert(row('m2')), insert(row('m1'))]),
        client.write([insert(row('m3', { body: Buffer.from('zz') }))]),
      ];
      const settled = await Promise.allSettled(writes);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
      expect((settled[1] as PromiseFulfilledResult<number[]>).value).toEqual([1]);
      expect(String((settled[2] as PromiseRejectedResult).reason)).toMatch(/store writer: SqliteError: SQLITE_CONSTRAINT/);
    } finally {
      await client.close();
    }
    const db = new Database(file, { readonly: true });
    expect(statusOf(db, 'm1')).toBe('sent');
    expect(statusOf(db, 'm2')).toBeUndefined();
    expect((db.prepare('SELECT body FROM hub_messages WHERE id = ?').get('m3') as { body: Buffer }).body.toString()).toBe('zz');
    db.close();
  });
});

describe('SqliteBackend checkpoint thread', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hub-ckpt-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies committed writes into the database file without any commit doing it', async () => {
    const file = join(dir, 'm.db');
    const backend = new SqliteBackend({ file });
    try {
      await backend.write(Array.from({ length: 20 }, (_, i) => insert(row(`c${i}`))));
      // The database file alone (without its WAL) holds a row only once a checkpoint has copied it there.
      // Far below the 10,000-page backstop, so only the checkpoint thread can have done that.
      const rowsInMainFile = (): number => {
        const copy = join(dir, `copy-${Date.now()}.db`);
        copyFileSync(file, copy);
        const db = new Database(copy, { readonly: true });
        try {
          return (db.prepare("SELECT COUNT(*) AS n FROM hub_messages WHERE id LIKE 'c%'").get() as { n: number }).n;
        } catch {
          // Not there yet (even the schema starts out in the WAL), or copied halfway through a checkpoint.
          return 0;
        } finally {
          db.close();
        }
      };
      let n = rowsInMainFile();
      for (let tries = 0; n < 20 && tries < 100; tries++) {
        await new Promise((r) => setTimeout(r, 50));
        n = rowsInMainFile();
      }
      expect(n).toBe(20);
    } finally {
      await backend.close();
    }
  });
});
