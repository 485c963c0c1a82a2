import { EventEmitter } from 'node:events';
import type { IntegrationError } from '../shared/errors';
import type { BodyCipher } from '../store/body-cipher';
import { openBody, sealBody } from './body-envelope';
import type { ConsumerReporter } from './consumer-runtime';
import { resolveDeps } from './deps';
import type { QueueDeps, ResolvedQueueDeps } from './deps';
import { EmbeddedConsumer } from './embedded-consumer';
import { InlineEmbeddedDb, WorkerEmbeddedDb } from './embedded-db-client';
import type { EmbeddedDbApi } from './embedded-db-client';
import type { DeadRow, EmbeddedOp, InsertFields, InsertResult, OpResult } from './embedded-db';
import { DeadLetterNotFoundError, QueueBackendError, QueueClosedError } from './errors';
import { Gate } from './gate';
import { WritePipeline } from './write-pipeline';
import { headersFromJson, headersToJson, historyFromJson, historyToJson } from './history-codec';
import { checkHeaders, normalizeInput } from './message-input';
import type { ConsumeOptions, Consumer, MessageHandler, MessageQueue, MessageQueueEvents } from './message-queue';
import type { QueuePolicy, QueuePolicyInput } from './policy';
import { PolicyRegistry } from './policy-registry';
import { appendHistory } from './retry-decision';
import type { DeadLetter, DeadLetterFilter, DeadLetterPage, EnqueueInput, EnqueueReceipt, FailedAttempt, QueueStats, ReplayOptions } from './types';
import { lastFailure, pageLimit } from './dead-letters';

export const EMBEDDED_CLOSE_TIMEOUT_MS = 5000;
/** Enqueues waiting for a commit before producers are made to wait. */
export const EMBEDDED_MAX_PENDING_WRITES = 10_000;
/** How often an idle consumer looks again without being woken (a safety net; enqueues wake it at once). */
export const EMBEDDED_IDLE_POLL_MS = 1000;
export const EMBEDDED_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface EmbeddedQueueOptions {
  /** SQLite file (the hub uses `<data>/queue/queue.db`); `:memory:` for throwaway queues. */
  file: string;
  /** Seals bodies at rest: they are PHI. The store's cipher (same `HUB_STORE_KEYS`). */
  cipher: BodyCipher;
  /** Policies by queue name. */
  policies?: Record<string, QueuePolicyInput>;
  /** Policy for queues not listed. */
  defaultPolicy?: QueuePolicyInput;
  /** Default {@link EMBEDDED_MAX_PENDING_WRITES}. */
  maxPendingWrites?: number;
  /** Default {@link EMBEDDED_IDLE_POLL_MS}. */
  idlePollMs?: number;
  /** Default {@link EMBEDDED_CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
  /** Default {@link EMBEDDED_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Run SQLite on its own thread (default for files; `:memory:` always runs inline). */
  worker?: boolean;
}

/**
 * The default queue: SQLite in the data dir, nothing external needed.
 *
 * Enqueues are group-committed (WAL, synchronous=FULL) and resolve only once
 * durable, so a kill -9 loses nothing that was acknowledged to a producer.
 * Consumers lease messages with a timeout; a lease renewed by a live consumer
 * never lapses, one held by a dead process does, and when this queue opens
 * it hands back every lease on disk at once (it is the file's only user).
 * Bodies are sealed with the store's cipher, the message id as associated data.
 */
export class EmbeddedQueue extends EventEmitter<MessageQueueEvents> implements MessageQueue {
  readonly backend = 'embedded' as const;
  private readonly db: EmbeddedDbApi;
  /** Opening checks the file and takes back stale leases; every call waits for it. */
  private readonly opened: Promise<void>;
  private readonly committer: WritePipeline<EmbeddedOp, OpResult>;
  private readonly gate: Gate;
  private readonly deps: ResolvedQueueDeps;
  private readonly policies: PolicyRegistry;
  private readonly consumers = new Set<EmbeddedConsumer>();
  private readonly closeTimeoutMs: number;
  private readonly maxBodyBytes: number;
  private readonly reporter: ConsumerReporter;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly options: EmbeddedQueueOptions,
    deps: QueueDeps = {},
  ) {
    super();
    this.deps = resolveDeps(deps);
    this.policies = new PolicyRegistry(options.policies, options.defaultPolicy);
    this.closeTimeoutMs = options.closeTimeoutMs ?? EMBEDDED_CLOSE_TIMEOUT_MS;
    this.maxBodyBytes = options.maxBodyBytes ?? EMBEDDED_MAX_BODY_BYTES;
    this.gate = new Gate(options.maxPendingWrites ?? EMBEDDED_MAX_PENDING_WRITES);
    this.db = options.file !== ':memory:' && options.worker !== false ? new WorkerEmbeddedDb(options.file) : new InlineEmbeddedDb(options.file);
    this.opened = this.db.open(this.deps.now()).then(
      (released) => {
        if (released > 0) this.deps.logger.info('queue took back leases of a previous run', { released });
      },
      (err: unknown) => {
        throw new QueueBackendError('the embedded queue database could not be opened or failed its integrity check', 'STORE', false, { cause: err });
      },
    );
    // Reported to every caller; not an unhandled rejection if nobody calls.
    this.opened.catch(() => undefined);
    this.committer = new WritePipeline<EmbeddedOp, OpResult>((ops) => this.db.write(ops));
    this.reporter = {
      escalation: (e) => this.emit('escalation', e),
      deadLettered: (info) => this.emit('deadLettered', info),
      error: (e) => this.reportError(e),
    };
  }

  async declareQueue(queue: string, policy?: QueuePolicyInput): Promise<QueuePolicy> {
    this.assertOpen();
    const p = this.policies.declare(queue, policy);
    await this.qid(queue);
    return p;
  }

  policyFor(queue: string): QueuePolicy {
    return this.policies.get(queue);
  }

  async enqueue(queue: string, input: EnqueueInput): Promise<EnqueueReceipt> {
    this.assertOpen();
    const policy = this.policies.get(queue);
    const now = this.deps.now();
    const msg = normalizeInput(input, this.maxBodyBytes, now);
    const qid = await this.qid(queue);
    await this.gate.acquire();
    // A consumer of this queue that is idle enough takes the message directly:
    // it is stored leased to it and handed over after the commit, never read
    // back or decrypted again (the common case when consumers keep up).
    let taker: EmbeddedConsumer | null = null;
    let leaseTo: { token: number; until: number } | null = null;
    for (const c of this.consumers) {
      if (c.queue !== queue) continue;
      leaseTo = c.reserveDirect();
      if (leaseTo) {
        taker = c;
        break;
      }
    }
    let result: InsertResult;
    try {
      this.assertOpen();
      result = (await this.submit({
        kind: 'insert',
        qid,
        id: msg.id,
        key: msg.key,
        ordered: policy.ordering === 'key',
        visibleAt: now,
        firstEnqueuedAt: now,
        enqueuedAt: now,
        headers: headersToJson(msg.headers),
        history: null,
        size: msg.body.length,
        body: sealBody(this.options.cipher, msg.id, msg.body),
        ...(leaseTo ? { leaseTo } : {}),
      })) as InsertResult;
    } catch (err) {
      taker?.completeDirect(null, null);
      throw err;
    } finally {
      this.gate.release();
    }
    if (taker && result.leased) {
      taker.completeDirect(result.seq, {
        id: msg.id,
        queue,
        key: msg.key,
        // A copy: the producer may reuse its buffer once the enqueue resolved.
        body: Buffer.from(msg.body),
        headers: msg.headers,
        attempts: 1,
        firstEnqueuedAt: new Date(now),
        enqueuedAt: new Date(now),
        deadlineAt: policy.maxAgeMs === null ? null : new Date(now + policy.maxAgeMs),
        history: [],
      });
    } else {
      taker?.completeDirect(null, null);
      this.wake(queue, true);
    }
    return { id: msg.id, queue };
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    this.assertOpen();
    const policy = this.policies.get(queue);
    const consumer = new EmbeddedConsumer(queue, await this.qid(queue), policy, handler, options, {
      submit: (op) => this.submit(op),
      nextDue: (qid) => this.db.nextDue(qid),
      cipher: this.options.cipher,
      deps: this.deps,
      reporter: this.reporter,
      wakeOthers: (q) => this.wake(q),
      closed: (c) => this.consumers.delete(c),
      idlePollMs: this.options.idlePollMs ?? EMBEDDED_IDLE_POLL_MS,
      closeTimeoutMs: this.closeTimeoutMs,
    });
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  async stats(queue: string): Promise<QueueStats> {
    this.assertOpen();
    const now = this.deps.now();
    const s = await this.db.stats(await this.qid(queue), now);
    return { queue, backend: this.backend, ready: s.ready, delayed: s.delayed, inFlight: s.inFlight, dead: s.dead, oldestWaitingAgeMs: s.oldest === null ? null : Math.max(0, now - s.oldest) };
  }

  async listDeadLetters(queue: string, filter: DeadLetterFilter & { limit?: number; cursor?: string } = {}): Promise<DeadLetterPage> {
    this.assertOpen();
    const limit = pageLimit(filter.limit);
    const after = filter.cursor ? Number(filter.cursor) : 0;
    if (!Number.isSafeInteger(after) || after < 0) throw new QueueBackendError('invalid dead-letter cursor', 'PARSE', false);
    const rows = await this.db.listDead(await this.qid(queue), filter, after, limit + 1);
    const items = rows.slice(0, limit).map((r) => this.toDeadLetter(queue, r));
    return { items, nextCursor: rows.length > limit ? String(rows[limit - 1]!.seq) : null };
  }

  async getDeadLetter(queue: string, id: string, options: { includeBody?: boolean } = {}): Promise<DeadLetter | null> {
    this.assertOpen();
    const row = await this.db.deadLetter(await this.qid(queue), id, options.includeBody === true);
    if (!row) return null;
    const dl = this.toDeadLetter(queue, row);
    if (options.includeBody && row.body) dl.body = openBody(this.options.cipher, row.id, row.body);
    return dl;
  }

  async replayDeadLetter(queue: string, id: string, options: ReplayOptions = {}): Promise<void> {
    this.assertOpen();
    const qid = await this.qid(queue);
    const row = await this.db.deadLetter(qid, id, true);
    if (!row) throw new DeadLetterNotFoundError(queue, id);
    if ((await this.replayRow(queue, qid, row, options)) === 0) throw new DeadLetterNotFoundError(queue, id);
    this.wake(queue);
  }

  async replayDeadLetters(queue: string, filter: DeadLetterFilter = {}, options: { by?: string } = {}): Promise<number> {
    this.assertOpen();
    const qid = await this.qid(queue);
    let replayed = 0;
    let after = 0;
    for (;;) {
      const rows = await this.db.listDead(qid, filter, after, 200);
      if (rows.length === 0) break;
      for (const row of rows) {
        row.body = (await this.db.deadBody(row.seq)) ?? undefined;
        if (row.body) replayed += await this.replayRow(queue, qid, row, { by: options.by });
        after = row.seq;
      }
      this.wake(queue);
    }
    return replayed;
  }

  private async replayRow(queue: string, qid: number, row: DeadRow, options: ReplayOptions): Promise<number> {
    const policy = this.policies.get(queue);
    const now = this.deps.now();
    const edited = options.body !== undefined || options.headers !== undefined;
    let body = row.body!;
    let size = row.size;
    if (options.body !== undefined) {
      const plain = normalizeInput({ id: row.id, body: options.body }, this.maxBodyBytes, now).body;
      body = sealBody(this.options.cipher, row.id, plain);
      size = plain.length;
    }
    const headers = options.headers !== undefined ? headersToJson(checkHeaders(options.headers, row.id)) : row.headers;
    const history = appendHistory(historyFromJson(row.history), { event: 'replayed', at: new Date(now), edited, by: options.by ?? null });
    const insert: InsertFields = {
      qid,
      id: row.id,
      key: row.msgKey,
      ordered: policy.ordering === 'key',
      visibleAt: now,
      firstEnqueuedAt: row.firstEnqueuedAt,
      enqueuedAt: now,
      headers,
      history: historyToJson(history),
      size,
      body,
    };
    return (await this.submit({ kind: 'replay', qid, deadSeq: row.seq, insert })) as number;
  }

  async discardDeadLetter(queue: string, id: string): Promise<void> {
    this.assertOpen();
    const qid = await this.qid(queue);
    const row = await this.db.deadLetter(qid, id, false);
    if (!row || (await this.submit({ kind: 'discard', qid, deadSeq: row.seq })) === 0) throw new DeadLetterNotFoundError(queue, id);
  }

  async deleteQueue(queue: string): Promise<void> {
    this.assertOpen();
    await Promise.all([...this.consumers].filter((c) => c.queue === queue).map((c) => c.close({ drainTimeoutMs: 0 })));
    await this.committer.drain();
    await this.db.deleteQueue(await this.qid(queue), queue);
    this.policies.forget(queue);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.opened;
    await this.db.ping();
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.close()));
    try {
      await this.committer.close();
    } finally {
      await this.db.close();
    }
  }

  private submit(op: EmbeddedOp): Promise<OpResult> {
    return this.committer.submit(op).catch((err: unknown) => {
      throw err instanceof QueueClosedError ? err : new QueueBackendError(`embedded queue write (${op.kind}) failed`, 'STORE', true, { cause: err });
    });
  }

  /** The numeric id of a queue name, once the database is open. */
  private async qid(queue: string): Promise<number> {
    await this.opened;
    return this.db.qid(queue);
  }

  /**
   * Tells the local consumers of `queue` that messages are waiting in the
   * database (new, replayed or released), so they lease before taking any
   * direct handover again.
   */
  private wake(queue: string, behind = true): void {
    for (const c of this.consumers) if (c.queue === queue) (behind ? c.fellBehind() : c.kick());
  }

  private assertOpen(): void {
    if (this.closing) throw new QueueClosedError('the embedded queue is closed');
  }

  /** 'error' without a listener would throw; consumers already logged it. */
  private reportError(error: IntegrationError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private toDeadLetter(queue: string, r: DeadRow): DeadLetter {
    const history = historyFromJson(r.history);
    const lastError: FailedAttempt | null = lastFailure(history);
    return {
      id: r.id,
      queue,
      key: r.msgKey,
      headers: headersFromJson(r.headers),
      attempts: r.attempts,
      firstEnqueuedAt: new Date(r.firstEnqueuedAt),
      enqueuedAt: new Date(r.enqueuedAt),
      deadAt: new Date(r.deadAt),
      reason: r.reason,
      lastError,
      history,
      size: r.size,
    };
  }
}
