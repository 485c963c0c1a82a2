import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedQueue } from '../../adapters/queue';
import { BodyCipher } from '../../adapters/store';
import { describeMessageQueueContract } from '../contract/message-queue.contract';
import { testStoreKeys } from '../support/store-keys';

const dir = mkdtempSync(join(tmpdir(), 'hub-queue-'));
const { keys, activeKeyId } = testStoreKeys();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
describeMessageQueueContract('embedded (SQLite)', {
  // One file for the whole suite, as in the hub; a second adapter on it is "the next process".
  open: async (logger) => new EmbeddedQueue({ file: join(dir, 'queue.db'), cipher: new BodyCipher(keys, activeKeyId), closeTimeoutMs: 500 }, { logger }),
  uniqueName: () => `emb-${++n}`,
});
