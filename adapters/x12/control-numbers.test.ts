import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  advance,
  CONTROL_NUMBER_MAX,
  formatGroupControlNumber,
  formatInterchangeControlNumber,
  formatTransactionControlNumber,
  InMemoryControlNumberSource,
} from './control-numbers';
import { ControlNumberError } from './errors';
import { SqliteControlNumberSource } from './sqlite-control-numbers';

describe('control numbers', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hub-ctl-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('formats: ISA13 nine digits, GS06 unpadded, ST02 at least four', () => {
    expect(formatInterchangeControlNumber(42)).toBe('000000042');
    expect(formatInterchangeControlNumber(CONTROL_NUMBER_MAX)).toBe('999999999');
    expect(formatGroupControlNumber(42)).toBe('42');
    expect(formatTransactionControlNumber(7)).toBe('0007');
    expect(formatTransactionControlNumber(123456)).toBe('123456');
  });

  test('sequences wrap from 999999999 to 1', () => {
    expect(advance(CONTROL_NUMBER_MAX - 1, 3)).toEqual([CONTROL_NUMBER_MAX, 1, 2]);
  });

  test('in-memory: kinds are independent sequences', async () => {
    const s = new InMemoryControlNumberSource({ interchange: 9 });
    expect(await s.next('interchange')).toEqual([10]);
    expect(await s.next('transaction', 3)).toEqual([1, 2, 3]);
    expect(await s.next('transaction')).toEqual([4]);
  });

  test('SQLite: persisted across reopen, per scope', async () => {
    const path = join(dir, 'ctl.db');
    const a = new SqliteControlNumberSource({ path, scope: 'SENDER1' });
    expect(await a.next('interchange')).toEqual([1]);
    expect(await a.next('interchange', 2)).toEqual([2, 3]);
    await a.close();
    await a.close();
    const b = new SqliteControlNumberSource({ path, scope: 'SENDER1' });
    const other = new SqliteControlNumberSource({ path, scope: 'SENDER2' });
    expect(await b.next('interchange')).toEqual([4]);
    expect(await other.next('interchange')).toEqual([1]);
    await b.close();
    await other.close();
    await expect(b.next('group')).rejects.toBeInstanceOf(ControlNumberError);
  });

  test('SQLite: two sources on one file (two hubs) never hand out the same number', async () => {
    const path = join(dir, 'shared.db');
    const a = new SqliteControlNumberSource({ path, scope: 'S' });
    const b = new SqliteControlNumberSource({ path, scope: 'S' });
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) seen.push(...(await (i % 2 ? a : b).next('interchange', 1 + (i % 3))));
    expect(new Set(seen).size).toBe(seen.length);
    expect(Math.max(...seen)).toBe(seen.length);
    await a.close();
    await b.close();
  });

  test('an unopenable database is a typed, retryable STORE error', () => {
    expect(() => new SqliteControlNumberSource({ path: join(dir, 'missing', 'dir', 'x.db'), scope: 'S' })).toThrow(expect.objectContaining({ code: 'STORE', retryable: true }));
  });
});
