import { randomInt } from 'node:crypto';
import type { BodyCipher } from '../store/body-cipher';
import { summarizeError } from '../shared/redact';
import { openBody } from './body-envelope';
import { ConsumerRuntime } from './consumer-runtime';
import type { ConsumerBackend, ConsumerReporter, Held, Outcome } from './consumer-runtime';
import type { ResolvedQueueDeps } from './deps';
import type { EmbeddedOp, LeaseRef, LiveRow, OpResult } from './embedded-db';
import { headersFromJson, historyFromJson, historyToJson } from './history-codec';
import type { ConsumeOptions, Consumer, MessageHandler } from './message-queue';
import type { QueuePolicy } from './policy';
import { describeFailure, appendHistory } from './retry-decision';
import type { QueueMessage } from './types';

/** What a consumer needs from its {@link EmbeddedQueue}. */
export interface EmbeddedConsumerContext {
  submit(op: EmbeddedOp): Promise<OpResult>;
  nextDue(qid: number): Promise<number | null>;
  cipher: BodyCipher;
  deps: ResolvedQueueDeps;
  reporter: ConsumerReporter;
  /** Tell the other local consumers of the queue that messages came back. */
  wakeOthers(queue: string): void;
  closed(consumer: EmbeddedConsumer): void;
  idlePollMs: number;
  closeTimeoutMs: number;
}

/**
 * Leases due messages from SQLite in batches of the consumer's free room,
 * hands them to the shared runtime, renews the leases of what it holds, and
 * sleeps until the next retry or lease expiry comes due (or an enqueue wakes
 * it). A lease this process cannot renew, because it died, expires after the
 * policy's `leaseMs` and the message is leased again.
 */
export class EmbeddedConsumer implements Consumer, ConsumerBackend<LeaseRef> {
  private readonly runtime: ConsumerRuntime<LeaseRef>;
  private readonly leases = new Map<number, LeaseRef>();
  private readonly tokenBase = randomInt(2 ** 40) * 1024;
  private tokenSeq = 0;
  private fetching = false;
  private again = false;
  /** The last lease found less than it asked for: nothing older is waiting in the database. */
  private caughtUp = false;
  /** Direct handovers promised to enqueues whose insert is not committed yet. */
  private reserved = 0;
  /** Lease token of direct handovers. */
  private readonly directToken = this.tokenBase + 1023;
  private stopped = false;
  private wakeTimer: unknown;
  private heartbeatTimer: unknown;

  constructor(
    readonly queue: string,
    private readonly qid: number,
    private readonly policy: QueuePolicy,
    handler: MessageHandler,
    options: ConsumeOptions,
    private readonly ctx: EmbeddedConsumerContext,
  ) {
    this.runtime = new ConsumerRuntime(queue, policy, handler, options, ctx.deps, this, ctx.reporter, ctx.closeTimeoutMs);
  }

  get active(): number {
    return this.runtime.active;
  }

  start(): void {
    this.scheduleHeartbeat();
    this.kick();
  }

  /**
   * Promises a slot to an enqueue about to be committed; the message is then
   * stored leased to this consumer. While older messages wait in the
   * database, direct handovers get at most half the free room, so the backlog
   * keeps draining and new messages cannot starve old ones. Returns the lease
   * to store, or null to store the message as waiting.
   */
  reserveDirect(): { token: number; until: number } | null {
    if (this.stopped) return null;
    const room = this.runtime.room;
    const limit = this.caughtUp ? room : Math.floor(room / 2);
    if (this.reserved >= limit) return null;
    this.reserved++;
    return { token: this.directToken, until: this.ctx.deps.now() + this.policy.leaseMs };
  }

  /**
   * Completes a {@link reserveDirect} once the insert committed.
   * @param seq - the row, when it was stored leased to this consumer (null: it waits like any other)
   * @param message - the message as the handler sees it (the enqueue's own plaintext)
   */
  completeDirect(seq: number | null, message: QueueMessage | null): void {
    this.reserved--;
    if (seq === null || message === null) {
      this.fellBehind();
      return;
    }
    const handle = { seq, token: this.directToken };
    this.leases.set(seq, handle);
    this.runtime.accept(message, handle);
  }

  /** Something was stored without being handed over: it must be leased from the database first. */
  fellBehind(): void {
    this.caughtUp = false;
    this.kick();
  }

  /** Look for work now (new messages were committed, or a slot opened). */
  kick(): void {
    if (this.stopped) return;
    if (this.fetching) {
      this.again = true;
      return;
    }
    void this.fetch();
  }

  async close(options?: { drainTimeoutMs?: number }): Promise<void> {
    await this.runtime.close(options);
    this.ctx.deps.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.ctx.closed(this);
  }

  oldestHeldEnqueuedAt(): number | null {
    return this.runtime.oldestHeldEnqueuedAt();
  }

  private async fetch(): Promise<void> {
    this.fetching = true;
    const { deps } = this.ctx;
    try {
      do {
        this.again = false;
        const room = this.runtime.room - this.reserved;
        if (room <= 0 || this.stopped) break;
        const now = deps.now();
        const token = this.tokenBase + (this.tokenSeq++ % 1024);
        const rows = (await this.ctx.submit({ kind: 'lease', qid: this.qid, limit: room, now, until: now + this.policy.leaseMs, token })) as LiveRow[];
        for (const row of rows) this.deliver(row, token);
        if (rows.length === room) this.again = true;
        else this.caughtUp = true;
      } while (this.again && !this.stopped);
      await this.armWake();
    } catch (err) {
      if (!this.stopped) {
        deps.logger.warn('queue lease failed', { queue: this.queue, ...summarizeError(err) });
        this.setWake(this.ctx.idlePollMs);
      }
    } finally {
      this.fetching = false;
    }
    if (this.again && !this.stopped) this.kick();
  }

  /** Sleep until the earliest retry or lease expiry, never longer than the idle poll. */
  private async armWake(): Promise<void> {
    let delay = this.ctx.idlePollMs;
    if (this.runtime.room > 0) {
      const due = await this.ctx.nextDue(this.qid);
      if (due !== null) delay = Math.max(5, Math.min(delay, due - this.ctx.deps.now() + 1));
    }
    this.setWake(delay);
  }

  private setWake(delay: number): void {
    if (this.stopped) return;
    this.ctx.deps.timers.clearTimeout(this.wakeTimer);
    this.wakeTimer = this.ctx.deps.timers.setTimeout(() => {
      this.wakeTimer = undefined;
      this.kick();
    }, delay);
  }

  private deliver(row: LiveRow, token: number): void {
    const handle = { seq: row.seq, token };
    this.leases.set(row.seq, handle);
    const enqueuedAt = row.enqueuedAt;
    const base = {
      id: row.id,
      queue: this.queue,
      key: row.msgKey,
      headers: headersFromJson(row.headers),
      attempts: row.deliveries,
      firstEnqueuedAt: new Date(row.firstEnqueuedAt),
      enqueuedAt: new Date(enqueuedAt),
      deadlineAt: this.policy.maxAgeMs === null ? null : new Date(enqueuedAt + this.policy.maxAgeMs),
      history: historyFromJson(row.history),
    };
    let body: Buffer;
    try {
      body = openBody(this.ctx.cipher, row.id, row.body);
    } catch (err) {
      // A body that cannot be decrypted (key removed, tampered row) never will be: dead-letter it.
      void this.settleUnreadable({ ...base, body: Buffer.alloc(0) }, handle, err);
      return;
    }
    const message: QueueMessage = { ...base, body };
    this.runtime.accept(message, handle);
  }

  private async settleUnreadable(message: QueueMessage, handle: LeaseRef, err: unknown): Promise<void> {
    const failure = describeFailure(err, message.attempts, new Date(this.ctx.deps.now()));
    try {
      await this.settle({ message, handle }, { kind: 'dead', reason: 'permanent', failure, history: appendHistory(message.history, failure), escalation: null });
      this.ctx.reporter.deadLettered({ queue: this.queue, id: message.id, reason: 'permanent', attempts: message.attempts, errorCode: failure.code });
    } catch (settleErr) {
      this.ctx.deps.logger.warn('queue could not dead-letter an unreadable message', { queue: this.queue, id: message.id, ...summarizeError(settleErr) });
    }
  }

  async settle(held: Held<LeaseRef>, outcome: Outcome): Promise<void> {
    const { seq, token } = held.handle;
    const now = this.ctx.deps.now();
    let op: EmbeddedOp;
    if (outcome.kind === 'ack') op = { kind: 'ack', qid: this.qid, seq, token };
    else if (outcome.kind === 'retry') op = { kind: 'retry', seq, token, visibleAt: now + outcome.delayMs, history: historyToJson(outcome.history) };
    else op = { kind: 'dead', qid: this.qid, seq, token, now, reason: outcome.reason, errorCode: outcome.failure.code, attempts: held.message.attempts, history: historyToJson(outcome.history) };
    try {
      const changed = await this.ctx.submit(op);
      if (changed === 0) {
        // The lease expired and someone else holds the message now; they settle it.
        this.ctx.deps.logger.warn('queue lease lost before settle; the message is delivered again', { queue: this.queue, id: held.message.id, outcome: outcome.kind });
      }
    } finally {
      this.leases.delete(seq);
    }
  }

  async release(held: Held<LeaseRef>[]): Promise<void> {
    const now = this.ctx.deps.now();
    await Promise.all(
      held.map(async (h) => {
        this.leases.delete(h.handle.seq);
        await this.ctx.submit({ kind: 'release', seq: h.handle.seq, token: h.handle.token, now }).catch(() => undefined);
      }),
    );
    this.ctx.wakeOthers(this.queue);
  }

  async stopFetching(): Promise<void> {
    this.stopped = true;
    this.ctx.deps.timers.clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  onRoom(): void {
    this.kick();
  }

  private scheduleHeartbeat(): void {
    const every = Math.max(250, Math.floor(this.policy.leaseMs / 3));
    this.heartbeatTimer = this.ctx.deps.timers.setTimeout(() => {
      const leases = [...this.leases.values()];
      const renew = leases.length > 0 ? this.ctx.submit({ kind: 'extend', leases, until: this.ctx.deps.now() + this.policy.leaseMs }) : Promise.resolve(0);
      void renew
        .catch((err: unknown) => this.ctx.deps.logger.warn('queue lease renewal failed', { queue: this.queue, ...summarizeError(err) }))
        .finally(() => {
          if (this.heartbeatTimer !== undefined) this.scheduleHeartbeat();
        });
    }, every);
  }
}
