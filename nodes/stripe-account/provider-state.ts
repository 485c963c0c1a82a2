import type { NodeAPI } from 'node-red';
import { InMemoryReplayStore, InMemorySentRegistry, SqliteReplayStore, SqliteSentRegistry } from '../../adapters/phi-guard';
import type { ReplayStore, SentRegistry } from '../../adapters/phi-guard';
import { InMemoryOptOutRegistry, SqliteOptOutRegistry } from '../../adapters/twilio';
import type { OptOutRegistry } from '../../adapters/twilio';
import { acquireShared, providerStateFile } from '../x12-837p/hub-data';
import type { SharedHandle } from '../x12-837p/hub-data';

/**
 * The provider state the Stripe, Twilio and SendGrid config nodes share, in
 * one SQLite file (`<HUB_DATA_DIR>/providers/providers.db`), one instance
 * per kind per process: webhook replays survive a restart (a captured
 * request is refused after one too), a sent mark survives the crash after
 * which a queue redelivers, and an opt-out survives everything. Without a
 * Node-RED user dir (a bare runtime) they fall back to memory.
 */

export function sharedReplayStore(RED: NodeAPI): SharedHandle<ReplayStore> {
  const file = providerStateFile(RED);
  if (!file) return acquireShared('replay-store:memory', () => new InMemoryReplayStore());
  return acquireShared(`replay-store:${file}`, () => new SqliteReplayStore({ file }));
}

export function sharedSentRegistry(RED: NodeAPI): SharedHandle<SentRegistry> {
  const file = providerStateFile(RED);
  if (!file) return acquireShared('sent-registry:memory', () => new InMemorySentRegistry());
  return acquireShared(`sent-registry:${file}`, () => new SqliteSentRegistry({ file }));
}

/**
 * @param RED - for the data dir
 * @param secret - the keyed-hash secret phone numbers are stored under (≥ 32 bytes)
 */
export function sharedOptOuts(RED: NodeAPI, secret: Buffer): SharedHandle<OptOutRegistry> {
  const file = providerStateFile(RED);
  if (!file) return acquireShared('opt-outs:memory', () => new InMemoryOptOutRegistry());
  return acquireShared(`opt-outs:${file}`, () => new SqliteOptOutRegistry({ file }, { secret }));
}
