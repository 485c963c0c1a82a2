import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMessageStore, parseKeyList } from '../../adapters/store';
import { createToken, login, startHubProcess } from '../support/hub-process';

const PASSWORD = 'shutdown-test-admin-password';

describe('graceful shutdown', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)('%s under load: stops accepting, keeps every acknowledged message, exits 0', async (signal) => {
    const hub = await startHubProcess({ HUB_ADMIN_PASSWORD: PASSWORD });
    const token = await createToken(hub.url, await login(hub.url, 'admin', PASSWORD), 'load', 'operator');
    const acked: string[] = [];
    let sent = 0;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop) {
        sent++;
        try {
          const res = await fetch(`${hub.url}/in/messages`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: 'MSH|^~\\&|SHUTDOWN' });
          if (res.status === 202) acked.push(((await res.json()) as { id: string }).id);
        } catch {
          return;
        }
        if (acked.length === 500) hub.proc.kill(signal);
      }
    };
    const workers = Promise.all(Array.from({ length: 8 }, worker));
    const exit = await hub.exited;
    stop = true;
    await workers;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(hub.output()).toContain('hub stopped');

    const secrets = JSON.parse(readFileSync(join(hub.dataDir, 'secrets.json'), 'utf8')) as { storeKeys: string; patientKeySecret: string };
    const store = await createMessageStore({ url: 'sqlite:', dataDir: hub.dataDir, ...parseKeyList(secrets.storeKeys), patientKeySecret: Buffer.from(secrets.patientKeySecret, 'base64') });
    try {
      for (const id of acked) expect(await store.get(id)).not.toBeNull();
    } finally {
      await store.close();
    }
    expect(acked.length).toBeGreaterThanOrEqual(500);
    expect(sent).toBeGreaterThanOrEqual(acked.length);
  });
});
