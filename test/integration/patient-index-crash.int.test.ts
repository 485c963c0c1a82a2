import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createMessageStore } from '../../adapters/store';
import { CRASH_STORE_KEYS } from '../support/patient-store-writer';

const ROOT = join(__dirname, '..', '..');
const WRITER = join(ROOT, 'dist', 'test', 'support', 'patient-store-writer.js');
const TOTAL = 30_000;
const PATIENTS = 40;
/** Past the first merge of pending patient index entries (8,192) with room to spare. */
const KILL_AFTER_ACKS = 14_000;

/**
 * The SQLite store keeps its patient index beside the message table: rows
 * move from staging with a pending entry, and pending entries merge into the
 * index in batches (sqlite-patient-index.ts). kill -9 while that runs: after
 * the crash every acknowledged message must still be found by a search for
 * its patient, exactly once, and the counts must agree with the searches.
 */
test('kill -9 while messages move and patient index entries merge: every acknowledged message is found by its patient, once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'patient-crash-'));
  try {
    const child = spawn(process.execPath, [WRITER, dir, String(TOTAL), String(PATIENTS)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked = new Map<string, string>();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let partial = '';
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const [word, id, patient] = line.split(' ');
        if (word === 'ack') acked.set(id!, patient!);
      }
      if (acked.size >= KILL_AFTER_ACKS) child.kill('SIGKILL');
    });
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    expect({ ...exit, stderr }).toEqual({ code: null, signal: 'SIGKILL', stderr: '' });
    expect(acked.size).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

    const file = join(dir, 'store', 'messages.db');
    const raw = new Database(file, { readonly: true });
    // The run got as far as a merge: some entries are in the index itself, not only pending.
    const indexed = raw.prepare('SELECT COUNT(*) FROM hub_patient_index').pluck().get() as number;
    raw.close();
    expect(indexed).toBeGreaterThan(0);

    const store = await createMessageStore({ url: 'sqlite:', dataDir: dir, ...CRASH_STORE_KEYS });
    try {
      let found = 0;
      for (let p = 0; p < PATIENTS; p++) {
        const patientId = `CRASH-MRN-${p}`;
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.search({ patientId, limit: 500, cursor });
          ids.push(...page.items.map((m) => m.id));
          cursor = page.nextCursor ?? undefined;
        } while (cursor);
        expect(new Set(ids).size).toBe(ids.length);
        const mine = [...acked].filter(([, patient]) => patient === patientId).map(([id]) => id);
        const seen = new Set(ids);
        expect(mine.filter((id) => !seen.has(id))).toEqual([]);
        expect(await store.count({ patientId })).toBe(ids.length);
        found += ids.length;
      }
      // Written before the kill and answered or not, every stored row belongs to one patient and is found once.
      expect(await store.count({})).toBe(found);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
