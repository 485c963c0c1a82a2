import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMessageStore } from '../../adapters/store';
import { describeMessageStoreContract } from '../contract/message-store.contract';
import { testStoreKeys } from '../support/store-keys';

const dirs: string[] = [];
describeMessageStoreContract(
  'SQLite',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hub-store-'));
    dirs.push(dir);
    return createMessageStore({ url: 'sqlite:', dataDir: dir, ...testStoreKeys() });
  },
  async () => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  },
);
