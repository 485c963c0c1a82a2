import type { MessageRecord, MessageStore } from '../store';
import { errorCode, IntegrationError } from './errors';
import type { Logger } from './logger';
import { RecoveryPasses, releaseMidFlow, scanLeftovers, takeReleased, UNREADABLE_TEXT } from './recovery-passes';
import { summarizeError } from './redact';
import { realClock } from './real-clock';

/** How the flow finished with a message (a node error, or nothing). */
export interface FlowOutcome {
  error?: unknown;
  /** The node that reported the error. */
  nodeId?: string;
}

/** Reports the outcome of one delivery; later calls are ignored. */
export type Settle = (outcome: FlowOutcome) => void;

/** A record read with its body. */
export type StoredRecord = MessageRecord & { body: Buffer };

export interface FollowedInboundClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: never): void;
}

export interface FollowedInboundOptions<T> {
  store: MessageStore;
  /** The endpoint and node the records were stored under. */
  endpoint: string;
  nodeId: string;
  logger: Logger;
  /** Reads a stored record back into what `deliver` sends; throws when the copy cannot be read. */
  prepare(record: StoredRecord): T;
  /**
   * Sends into the flow and calls `settle` once the flow is done with it.
   * Returns a release for when the hub stops waiting (timeout, close).
   */
  deliver(id: string, prepared: T, settle: Settle): (() => void) | void;
  /** How long the flow may take; also how long a leftover must lie untouched before recovery takes it. */
  timeoutMs?: number;
  clock?: FollowedInboundClock;
}

export const FOLLOW_TIMEOUT_MS = 60_000;
/** Most records one recovery pass sends on, oldest first; the rest wait for the next pass. */
const MAX_RECOVERED = 10_000;


interface Entry {
  timer: unknown;
  release: (() => void) | void;
}

/**
 * The flow side of an intake that stores first and answers its sender
 * (a webhook's 2xx, an SFTP move) before the flow has the message: the
 * record is stored `processing`, and becomes `sent` when every node has
 * finished with it, `error` when a node fails it or it outlasts the
 * timeout. A record still `processing` after a crash or redeploy is sent
 * through the flow again once the flows have started (Mirth's recovery
 * task on channel start): its sender was answered and will not resend it.
 *
 * Error texts carry the error's class and code only; its message may quote the payload.
 */
export class FollowedInbound<T> {
  private readonly inFlight = new Map<string, Entry>();
  private readonly writes = new Set<Promise<void>>();
  private readonly clock: FollowedInboundClock;
  private readonly timeoutMs: number;
  private readonly recovery: RecoveryPasses<{ recovered: number; unreadable: number }>;
  private closed = false;

  constructor(private readonly options: FollowedInboundOptions<T>) {
    this.clock = options.clock ?? realClock;
    this.timeoutMs = options.timeoutMs ?? FOLLOW_TIMEOUT_MS;
    this.recovery = new RecoveryPasses(() => this.recoveryPass(), this.clock, (err: unknown) =>
      options.logger.warn('intake recovery failed', { endpoint: options.endpoint, ...summarizeError(err) }),
    );
  }

  private get releaseKey(): string {
    return `${this.options.endpoint}\u0000${this.options.nodeId}`;
  }

  /** Records this instance is waiting on. */
  get size(): number {
    return this.inFlight.size;
  }

  /** A record just stored `processing` goes into the flow. */
  send(id: string, prepared: T): void {
    if (this.closed) return;
    const entry: Entry = { timer: undefined, release: undefined };
    const previous = this.inFlight.get(id);
    if (previous) this.drop(id, previous);
    this.inFlight.set(id, entry);
    entry.timer = this.clock.setTimeout(() => this.onTimeout(id, entry), this.timeoutMs);
    let settled = false;
    const settle: Settle = (outcome) => {
      if (settled) return;
      settled = true;
      this.onSettled(id, entry, outcome);
    };
    try {
      entry.release = this.options.deliver(id, prepared, settle);
    } catch (err) {
      settle({ error: err });
    }
  }

  /**
   * An operator's reprocess, or a recovered leftover: back to `processing`
   * with one attempt more, then through the flow.
   * @throws what `prepare` throws for an unreadable copy, before anything changes
   */
  async redeliver(record: MessageRecord): Promise<void> {
    await this.restart(record.id, this.readBack(record));
  }

  /** Back to `processing` with one attempt more, then through the flow. */
  private async restart(id: string, prepared: T): Promise<void> {
    await this.options.store.update(id, { status: 'processing', errorCode: null, errorText: null, incrementAttempts: true });
    this.send(id, prepared);
  }

  /**
   * Leftovers of a previous run (crash, redeploy): this node's records
   * still `processing` and untouched for the timeout (a live hub process
   * sharing the store settles its own before that), or at once those its
   * predecessor in this process left in the flow. Oldest first. Those
   * touched too recently get another pass once old enough. Passes run one
   * after another.
   */
  recoverInterrupted(): Promise<{ recovered: number; unreadable: number }> {
    return this.recovery.run();
  }

  private async recoveryPass(): Promise<{ recovered: number; unreadable: number }> {
    if (this.closed) return { recovered: 0, unreadable: 0 };
    const { store, endpoint, nodeId, logger } = this.options;
    const released = takeReleased(this.releaseKey);
    const { ids, recheckAt } = await scanLeftovers(store, {
      endpoint,
      timeoutMs: this.timeoutMs,
      now: this.clock.now(),
      released,
      skip: (r) => r.nodeId !== nodeId || this.inFlight.has(r.id),
    });
    if (recheckAt !== null) this.recovery.later(recheckAt - this.clock.now());
    let recovered = 0;
    let unreadable = 0;
    for (const id of ids.slice(0, MAX_RECOVERED)) {
      if (this.closed) break;
      const record = await store.get(id, { includeBody: true });
      // An operator's reprocess may have taken it meanwhile.
      if (!record || record.status !== 'processing' || this.inFlight.has(id)) continue;
      let prepared: T;
      try {
        prepared = this.readBack(record);
      } catch (err) {
        logger.warn('intake could not recover a message', { endpoint, id, ...summarizeError(err) });
        await store.update(id, { status: 'error', errorCode: 'INTERRUPTED', errorText: UNREADABLE_TEXT });
        unreadable++;
        continue;
      }
      // A store failure here fails the pass and leaves the record for the next one.
      await this.restart(id, prepared);
      recovered++;
    }
    if (recovered + unreadable > 0) logger.warn('intake recovered messages a previous run left unfinished', { endpoint, recovered, unreadable });
    return { recovered, unreadable };
  }

  /**
   * No more deliveries or passes. Records still in the flow stay
   * `processing` for this node's successor; status writes already started
   * are awaited.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.recovery.stop();
    // Its successor in this process (a redeploy) takes them at once instead of after the timeout.
    releaseMidFlow(this.releaseKey, this.inFlight.keys());
    for (const [id, entry] of [...this.inFlight]) this.drop(id, entry);
    await Promise.allSettled([...this.writes]);
  }

  private readBack(record: MessageRecord): T {
    if (!record.body) throw new IntegrationError('the stored copy has no body', 'STORE', false);
    return this.options.prepare(record as StoredRecord);
  }

  private onSettled(id: string, entry: Entry, outcome: FlowOutcome): void {
    if (this.inFlight.get(id) !== entry) return;
    this.drop(id, entry);
    if (outcome.error === undefined || outcome.error === null) {
      this.write(id, { status: 'sent', errorCode: null, errorText: null });
      return;
    }
    const where = outcome.nodeId ? `node ${outcome.nodeId}` : 'the flow';
    const code = errorCode(outcome.error);
    this.write(id, { status: 'error', errorCode: 'FLOW_ERROR', errorText: `${where} reported ${summarizeError(outcome.error).error ?? 'an error'} (${code})` });
    this.options.logger.warn('intake flow failed a message', { endpoint: this.options.endpoint, id, code });
  }

  private onTimeout(id: string, entry: Entry): void {
    entry.timer = undefined;
    if (this.inFlight.get(id) !== entry) return;
    this.drop(id, entry);
    this.write(id, { status: 'error', errorCode: 'TIMEOUT', errorText: `not completed within ${this.timeoutMs} ms` });
    this.options.logger.warn('intake processing timed out', { endpoint: this.options.endpoint, id, timeoutMs: this.timeoutMs });
  }

  private drop(id: string, entry: Entry): void {
    if (this.inFlight.get(id) === entry) this.inFlight.delete(id);
    if (entry.timer !== undefined) this.clock.clearTimeout(entry.timer as never);
    entry.timer = undefined;
    entry.release?.();
  }

  private write(id: string, patch: { status: 'sent' | 'error'; errorCode: string | null; errorText: string | null }): void {
    // Nobody waits on it: it rides with the next commit (a crash before that leaves the record for recovery, at least once).
    const write = this.options.store.update(id, patch, { durability: 'soon' }).then(
      () => undefined,
      (err: unknown) => this.options.logger.warn('intake could not record a message outcome', { endpoint: this.options.endpoint, id, status: patch.status, ...summarizeError(err) }),
    );
    this.writes.add(write);
    void write.finally(() => this.writes.delete(write));
  }
}
