import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMessageStore, parseKeyList } from '../../adapters/store';
import { createToken, login, startHubProcess } from '../support/hub-process';

const TOTAL = 10_000;
const CONCURRENCY = 16;
const KILL_AFTER_ACKS = 3_000;
const PASSWORD = 'crash-test-admin-password';

/**
 * kill -9 while the hub stores a stream of messages: every message the hub
 * acknowledged (202 with its id) must be in the store after the crash, and
 * the store must open cleanly.
 */
test('kill -9 during 10,000 writes loses no acknowledged record', async () => {
  const hub = await startHubProcess({ HUB_ADMIN_PASSWORD: PASSWORD });
  const admin = await login(hub.url, 'admin', PASSWORD);
  const token = await createToken(hub.url, admin, 'crash-writer', 'operator');

  const acked: string[] = [];
  let next = 0;
  let killed = false;
  const worker = async (): Promise<void> => {
    while (next < TOTAL && !killed) {
      const n = next++;
      try {
        const res = await fetch(`${hub.url}/in/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: `MSH|^~\\&|CRASH|${n}` });
        if (res.status === 202) acked.push(((await res.json()) as { id: string }).id);
      } catch {
        return; // the hub is gone
      }
      if (acked.length >= KILL_AFTER_ACKS && !killed) {
        killed = true;
        hub.proc.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const exit = await hub.exited;
  expect(exit.signal).toBe('SIGKILL');
  expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

  const dbFile = join(hub.dataDir, 'store', 'messages.db');
  const raw = new Database(dbFile);
  expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
  raw.close();

  const secrets = JSON.parse(readFileSync(join(hub.dataDir, 'secrets.json'), 'utf8')) as { storeKeys: string; patientKeySecret: string };
  const { keys, activeKeyId } = parseKeyList(secrets.storeKeys);
  const store = await createMessageStore({ url: 'sqlite:', dataDir: hub.dataDir, keys, activeKeyId, patientKeySecret: Buffer.from(secrets.patientKeySecret, 'base64') });
  try {
    const missing: string[] = [];
    for (const id of acked) if (!(await store.get(id))) missing.push(id);
    expect(missing).toEqual([]);
    const sample = await store.get(acked[acked.length - 1]!, { includeBody: true });
    expect(sample?.body?.toString()).toMatch(/^MSH\|\^~\\&\|CRASH\|\d+$/);
  } finally {
    await store.close();
  }

  // And the hub itself restarts on the crashed data dir.
  const again = await startHubProcess({ HUB_DATA_DIR: hub.dataDir, HUB_ADMIN_PASSWORD: PASSWORD });
  const ready = await fetch(`${again.url}/readyz`);
  expect(ready.status).toBe(200);
  expect((await again.stop()).code).toBe(0);
});
