import { existsSync } from 'node:fs';
import type { Node, NodeAPI } from 'node-red';
import { InMemoryReplayStore, InMemorySentRegistry, PostgresReplayStore, PostgresSentRegistry, SqliteReplayStore, SqliteSentRegistry } from '../../adapters/phi-guard';
import type { ReplayStore, SentRegistry } from '../../adapters/phi-guard';
import { errorCode } from '../../adapters/shared/errors';
import { getHubServices } from '../../adapters/shared/registry';
import type { MessageStore } from '../../adapters/store';
import { InMemoryOptOutRegistry, PostgresOptOutRegistry, SqliteOptOutRegistry } from '../../adapters/twilio';
import type { OptOutRegistry } from '../../adapters/twilio';
import { acquireShared, providerStateFile } from '../x12-837p/hub-data';
import type { SharedHandle } from '../x12-837p/hub-data';

/**
 * The provider state the Stripe, Twilio and SendGrid config nodes share, one
 * instance per kind per process: webhook replays survive a restart (a
 * captured request is refused after one too), a sent mark survives the crash
 * after which a queue redelivers, and an opt-out survives everything.
 *
 * Where it lives: with a PostgreSQL store, in that database, so hub
 * processes sharing the store share it too (a STOP received by one process
 * binds all of them; a message redelivered to another process after a crash
 * is not sent twice). Otherwise in one SQLite file
 * (`<HUB_DATA_DIR>/providers/providers.db`); without a Node-RED user dir (a
 * bare runtime), in memory.
 */

/** The store's PostgreSQL pool (nodes/ never import the driver itself). */
type Pool = NonNullable<MessageStore['sharedPool']>;

/** The store's PostgreSQL pool, when the hub runs on one. */
function sharedPool(): Pool | null {
  try {
    return getHubServices().store.sharedPool ?? null;
  } catch {
    return null;
  }
}

const poolIds = new WeakMap<Pool, number>();
let nextPoolId = 1;
/** A key per pool for acquireShared: two hubs in one process (tests) keep their state apart. */
function poolKey(kind: string, pool: Pool): string {
  let id = poolIds.get(pool);
  if (id === undefined) poolIds.set(pool, (id = nextPoolId++));
  return `${kind}:pg:${id}`;
}

export function sharedReplayStore(RED: NodeAPI): SharedHandle<ReplayStore> {
  const pool = sharedPool();
  if (pool) return acquireShared(poolKey('replay-store', pool), () => new PostgresReplayStore(pool));
  const file = providerStateFile(RED);
  if (!file) return acquireShared('replay-store:memory', () => new InMemoryReplayStore());
  return acquireShared(`replay-store:${file}`, () => new SqliteReplayStore({ file }));
}

export function sharedSentRegistry(RED: NodeAPI): SharedHandle<SentRegistry> {
  const pool = sharedPool();
  if (pool) return acquireShared(poolKey('sent-registry', pool), () => new PostgresSentRegistry(pool));
  const file = providerStateFile(RED);
  if (!file) return acquireShared('sent-registry:memory', () => new InMemorySentRegistry());
  return acquireShared(`sent-registry:${file}`, () => new SqliteSentRegistry({ file }));
}

/**
 * @param RED - for the data dir
 * @param secret - the keyed-hash secret phone numbers are stored under (≥ 32 bytes)
 */
export function sharedOptOuts(RED: NodeAPI, secret: Buffer): SharedHandle<OptOutRegistry> {
  const pool = sharedPool();
  const file = providerStateFile(RED);
  if (pool) {
    // STOPs this process recorded before the store moved to PostgreSQL still bind: merged in before the first check.
    const carryOver = file && existsSync(file) ? () => withSqlite(() => new SqliteOptOutRegistry({ file }, { secret }), (r) => r.entries()) : undefined;
    return acquireShared(poolKey('opt-outs', pool), () => new PostgresOptOutRegistry(pool, { secret, ...(carryOver ? { carryOver } : {}) }));
  }
  if (!file) return acquireShared('opt-outs:memory', () => new InMemoryOptOutRegistry());
  return acquireShared(`opt-outs:${file}`, () => new SqliteOptOutRegistry({ file }, { secret }));
}

/**
 * One account config node's share of the provider state: each kind is
 * acquired on first use (a node configured for sending only never opens the
 * replay store) and held once, however many adapters use it, so close()
 * releases exactly what was taken.
 */
export class ProviderState {
  private readonly held: SharedHandle<unknown>[] = [];
  private sent: SharedHandle<SentRegistry> | undefined;
  private replays: SharedHandle<ReplayStore> | undefined;
  private optOutRegistry: SharedHandle<OptOutRegistry> | undefined;

  constructor(private readonly RED: NodeAPI) {}

  sentRegistry(): SentRegistry {
    this.sent ??= this.hold(sharedSentRegistry(this.RED));
    return this.sent.value;
  }

  replayStore(): ReplayStore {
    this.replays ??= this.hold(sharedReplayStore(this.RED));
    return this.replays.value;
  }

  /** @param secret - see {@link sharedOptOuts}; only the first call's is used */
  optOuts(secret: Buffer): OptOutRegistry {
    this.optOutRegistry ??= this.hold(sharedOptOuts(this.RED, secret));
    return this.optOutRegistry.value;
  }

  /** Releases every handle taken; the last holder in the process closes the store. */
  async release(): Promise<void> {
    await Promise.all(this.held.map((h) => h.release()));
  }

  private hold<T>(handle: SharedHandle<T>): SharedHandle<T> {
    this.held.push(handle);
    return handle;
  }
}

/** What every provider account config node offers the nodes that use it. */
export interface ProviderAccountNode extends Node {
  register(user: Node): void;
  deregister(user: Node): Promise<void>;
}

/**
 * The lifecycle provider account config nodes share: users register, and on
 * close the node's adapters are detached first (synchronously, so no user
 * picks up one that is closing), then those that hold resources are closed
 * together with the provider state.
 *
 * @param closeErrorKey - catalog key for a failed close; only the error code is shown (no PHI)
 * @param adapters - the node's adapter fields, closed in this order
 */
export function manageProviderAccount<N extends ProviderAccountNode>(RED: NodeAPI, node: N, state: ProviderState, closeErrorKey: string, adapters: readonly (keyof N & string)[]): void {
  const users = new Set<Node>();
  node.register = (user: Node): void => {
    users.add(user);
  };
  node.deregister = async (user: Node): Promise<void> => {
    users.delete(user);
  };
  node.on('close', (_removed: boolean, done: () => void) => {
    const fields = node as unknown as Record<string, unknown>;
    const detached = adapters.map((key) => {
      const adapter = fields[key] as { close?: () => Promise<void> } | undefined;
      fields[key] = undefined;
      return adapter;
    });
    Promise.all([...detached.map((a) => (typeof a?.close === 'function' ? a.close() : undefined)), state.release()])
      .catch((err: unknown) => node.warn(RED._(closeErrorKey, { code: errorCode(err) })))
      .finally(done);
  });
}

/**
 * Reads from a SQLite provider-state store and closes it again (carrying
 * state over to PostgreSQL).
 * @param open - opens the store
 * @param read - what to take from it
 */
export function withSqlite<S extends { close(): Promise<void> }, T>(open: () => S, read: (store: S) => T): T {
  const store = open();
  try {
    return read(store);
  } finally {
    void store.close();
  }
}
