import { dirname, join } from 'node:path';
import type { NodeAPI } from 'node-red';

/**
 * Files the billing and messaging nodes keep beside the message store:
 * X12 control numbers, the provider sent registry, opt-outs and the webhook
 * replay store. They live in `<HUB_DATA_DIR>/providers/`, found from
 * Node-RED's user dir (the hub sets it to `<HUB_DATA_DIR>/node-red`), and
 * each file is opened once per process however many config nodes use it
 * (a redeploy closes the old nodes before it starts the new ones, so the
 * count drops to zero and the file is closed and reopened cleanly).
 *
 * Candidate for nodes/shared/ once the billing and messaging nodes land.
 */

/** The folder for provider state, or undefined when Node-RED has no user dir. */
export function providersDir(RED: NodeAPI): string | undefined {
  const userDir = (RED.settings as { userDir?: unknown }).userDir;
  if (typeof userDir !== 'string' || userDir === '') return undefined;
  return join(dirname(userDir), 'providers');
}

interface Closable {
  close(): Promise<void>;
}

interface Entry {
  value: Closable;
  users: number;
}

const shared = new Map<string, Entry>();

export interface SharedHandle<T> {
  value: T;
  /** Give the instance back; the last user closes it. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * The one instance for `key` (typically kind plus file path), opened on first use.
 * @param key - e.g. `sent-registry:/data/providers/providers.db`
 * @param open - creates the instance; may throw (nothing is cached then)
 */
export function acquireShared<T extends Closable>(key: string, open: () => T): SharedHandle<T> {
  let entry = shared.get(key);
  if (!entry) {
    entry = { value: open(), users: 0 };
    shared.set(key, entry);
  }
  entry.users += 1;
  const held = entry;
  let released = false;
  return {
    value: held.value as T,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0 || shared.get(key) !== held) return;
      shared.delete(key);
      await held.value.close();
    },
  };
}

/** The SQLite file holding provider state (sent registry, opt-outs, webhook replays), or undefined without a user dir. */
export function providerStateFile(RED: NodeAPI): string | undefined {
  const dir = providersDir(RED);
  return dir === undefined ? undefined : join(dir, 'providers.db');
}
