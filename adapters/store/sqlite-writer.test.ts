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

/** A fresh temporary directory per test, removed after it. */
function useTempDir(prefix: string): () => string {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  return () => dir;
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

describe('SqliteBatchWriter with staging', () => {
  const stagedStatus = (db: Database.Database, id: string): unknown =>
    (db.prepare('SELECT status FROM hub_messages_staged WHERE id = ?').get(id) as { status?: string } | undefined)?.status;

  it('stages inserts, updates them where they are, and settles them into hub_messages in arrival order', () => {
    const db = new Database(':memory:');
    db.exec(SQLITE_SCHEMA);
    const writer = new SqliteBatchWriter(db, { staging: true });
    expect(writer.write([insert(row('s1', { receivedAt: 3 })), insert(row('s2', { receivedAt: 1 })), { kind: 'update', id: 's1', patch: { status: 'sent' }, at: 4 }])).toEqual([1, 1, 1]);
    expect(writer.staged).toBe(2);
    expect(stagedStatus(db, 's1')).toBe('sent');
    expect(statusOf(db, 's1')).toBeUndefined();

    expect(writer.settle()).toBe(2);
    expect(writer.staged).toBe(0);
    expect(stagedStatus(db, 's1')).toBeUndefined();
    expect(statusOf(db, 's1')).toBe('sent');
    expect(db.prepare('SELECT id FROM hub_messages ORDER BY rowid').pluck().all()).toEqual(['s1', 's2']);
    // Once moved, an update finds the row in hub_messages; an unknown id still changes nothing.
    expect(writer.write([{ kind: 'update', id: 's2', patch: { status: 'error', errorCode: 'X' }, at: 5 }, { kind: 'update', id: 'nope', patch: { status: 'sent' }, at: 5 }])).toEqual([1, 0]);
    expect(statusOf(db, 's2')).toBe('error');
    expect(writer.settle()).toBe(0);

    // A chunk moves the oldest rows first and leaves the rest staged.
    writer.write([insert(row('s3')), insert(row('s4')), insert(row('s5'))]);
    expect(writer.settle(2)).toBe(2);
    expect(db.prepare('SELECT id FROM hub_messages_staged').pluck().all()).toEqual(['s5']);
    expect(writer.staged).toBe(1);
    expect(writer.settle(2)).toBe(1);
    expect(writer.staged).toBe(0);
    db.close();
  });

  it('refuses an id already stored, whether it is still staged or already moved', () => {
    const db = new Database(':memory:');
    db.exec(SQLITE_SCHEMA);
    const writer = new SqliteBatchWriter(db, { staging: true });
    writer.write([insert(row('moved'))]);
    writer.settle();
    writer.write([insert(row('staged'))]);
    expect(() => writer.write([insert(row('moved'))])).toThrow(/UNIQUE constraint failed: hub_messages.id/);
    expect(() => writer.write([insert(row('staged'))])).toThrow(/UNIQUE constraint failed/);
    expect(writer.writeMany([[insert(row('fresh'))], [insert(row('moved'))]]).map((r) => r instanceof Error)).toEqual([false, true]);
    writer.settle();
    expect(db.prepare('SELECT COUNT(*) FROM hub_messages').pluck().get()).toBe(3);
    db.close();
  });
});

describe('SqliteBackend reads across the staging table', () => {
  const tempDir = useTempDir('hub-staged-');

  it('the writer thread moves a chunk of staged rows by itself once enough are staged', async () => {
    const file = join(tempDir(), 'm.db');
    const backend = new SqliteBackend({ file });
    const inspect = new Database(file, { readonly: true });
    try {
      await backend.write(Array.from({ length: 130 }, (_, i) => insert(row(`k${i}`))));
      const staged = (): number => inspect.prepare('SELECT COUNT(*) FROM hub_messages_staged').pluck().get() as number;
      for (let tries = 0; staged() > 2 && tries < 100; tries++) await new Promise((r) => setTimeout(r, 20));
      expect(staged()).toBeLessThanOrEqual(2); // 128 moved; the last 2 wait for the timer (or have just gone)
      expect(await backend.count({})).toBe(130);
    } finally {
      inspect.close();
      await backend.close();
    }
  });

  it('get, search (merged newest first, paged), count and prune see staged and moved rows alike, and a reopen moves what was left staged', async () => {
    const file = join(tempDir(), 'm.db');
    // Rows a crashed run left staged: three of them, plus two already moved.
    const setup = new Database(file);
    configureConnection(setup);
    setup.exec(SQLITE_SCHEMA);
    const early = new SqliteBatchWriter(setup, { staging: true });
    early.write([insert(row('a', { receivedAt: 10 })), insert(row('c', { receivedAt: 30 }))]);
    early.settle();
    early.write([insert(row('b', { receivedAt: 20 })), insert(row('d', { receivedAt: 40, status: 'sent', updatedAt: 1 })), insert(row('e', { receivedAt: 40 }))]);
    setup.close();

    const inspect = new Database(file, { readonly: true });
    const tally = (): unknown => inspect.prepare("SELECT (SELECT COUNT(*) FROM hub_messages) || '/' || (SELECT COUNT(*) FROM hub_messages_staged)").pluck().get();
    expect(tally()).toBe('2/3');
    const backend = new SqliteBackend({ file });
    const other = new Database(file);
    try {
      expect(tally()).toBe('5/0');
      // Two rows staged beside the backend (its writer thread moves only after writes of its own): reads must merge.
      configureConnection(other);
      new SqliteBatchWriter(other, { staging: true }).write([insert(row('g', { receivedAt: 35 })), insert(row('h', { receivedAt: 5 }))]);
      expect(tally()).toBe('5/2');

      const first = await backend.search({ limit: 3 });
      expect(first.map((r) => r.id)).toEqual(['e', 'd', 'g']);
      const last = first[first.length - 1]!;
      const rest = await backend.search({ limit: 10, after: { receivedAt: last.receivedAt, id: last.id } });
      expect(rest.map((r) => r.id)).toEqual(['c', 'b', 'a', 'h']);
      expect((await backend.search({ limit: 10, from: 20, to: 36 })).map((r) => r.id)).toEqual(['g', 'c', 'b']);
      expect(await backend.count({})).toBe(7);
      expect(await backend.count({ status: 'processing' })).toBe(6);
      expect((await backend.get('g', true))?.body?.toString()).toBe('sealed-g');
      expect((await backend.get('a', true))?.body?.toString()).toBe('sealed-a');

      await backend.write([{ kind: 'update', id: 'g', patch: { status: 'sent' }, at: 2 }, { kind: 'update', id: 'a', patch: { status: 'sent' }, at: 2 }]);
      expect((await backend.get('g', false))?.status).toBe('sent');
      expect((await backend.get('a', false))?.status).toBe('sent');
      expect(await backend.prune([{ status: 'sent', before: 2 }])).toBe(1); // d; a and g were updated at 2
      expect(await backend.count({})).toBe(6);
    } finally {
      other.close();
      await backend.close();
      inspect.close();
    }
    const after = new Database(file, { readonly: true });
    // Closing moves what is staged.
    expect(after.prepare('SELECT COUNT(*) FROM hub_messages_staged').pluck().get()).toBe(0);
    expect(after.prepare('SELECT id FROM hub_messages ORDER BY id').pluck().all()).toEqual(['a', 'b', 'c', 'e', 'g', 'h']);
    after.close();
  });
});

describe('SqliteWriterClient', () => {
  const tempDir = useTempDir('hub-writer-');

  it('takes batches without waiting for earlier ones, applies them in order, and fails a bad one alone', async () => {
    const file = join(tempDir(), 'm.db');
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
  const tempDir = useTempDir('hub-ckpt-');

  it('copies committed writes into the database file without any commit doing it', async () => {
    const file = join(tempDir(), 'm.db');
    const backend = new SqliteBackend({ file });
    try {
      await backend.write(Array.from({ length: 20 }, (_, i) => insert(row(`c${i}`))));
      // The database file alone (without its WAL) holds a row only once a checkpoint has copied it there.
      // Far below the 10,000-page backstop, so only the checkpoint thread can have done that.
      const rowsInMainFile = (): number => {
        const copy = join(tempDir(), `copy-${Date.now()}.db`);
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
