import { ChangeMessageVisibilityBatchCommand, ChangeMessageVisibilityCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { summarizeError } from '../shared/redact';
import type { BodyCipher } from '../store/body-cipher';
import { ConsumerRuntime } from './consumer-runtime';
import type { ConsumerBackend, ConsumerReporter, Held, Outcome } from './consumer-runtime';
import type { ResolvedQueueDeps } from './deps';
import { settlesWithin, sleep } from './deps';
import type { ConsumeOptions, Consumer, MessageHandler } from './message-queue';
import type { QueuePolicy } from './policy';
import { appendHistory, describeFailure } from './retry-decision';
import { decodeSqs, HUB_ATTRIBUTE } from './sqs-codec';
import type { SqsWire } from './sqs-codec';
import { isAbort, wrapSqsError } from './sqs-errors';
import type { HistoryEntry, QueueMessage } from './types';

/** SQS allows a visibility timeout of at most 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;
const RECEIVE_ERROR_BACKOFF_MS = 1000;

export interface SqsHandle {
  receipt: string;
  wire: SqsWire;
  /** The raw body, forwarded unchanged (still sealed) when the message is dead-lettered. */
  rawBody: string;
}

/** What a consumer needs from its {@link SqsQueue}. */
export interface SqsConsumerContext {
  client: SQSClient;
  url: string;
  deps: ResolvedQueueDeps;
  reporter: ConsumerReporter;
  closeTimeoutMs: number;
  waitTimeSeconds: number;
  cipher: BodyCipher | undefined;
  /** Failed attempts this process saw, by message id (SQS cannot rewrite a message's attributes). */
  history: Map<string, HistoryEntry[]>;
  deleteMessage(receipt: string): Promise<void>;
  deadLetter(handle: SqsHandle, attempts: number, outcome: Extract<Outcome, { kind: 'dead' }>): Promise<void>;
  closed(consumer: SqsConsumer): void;
}

/**
 * Long-polling consumer. Each poller asks for at most the consumer's free
 * room (ten at a time), so prefetch bounds what is held. A held message's
 * visibility is renewed while its handler runs; a crashed consumer's
 * messages reappear when their visibility timeout (the policy's `leaseMs`)
 * runs out.
 *
 * A failed attempt is retried by ChangeMessageVisibility to the backoff delay:
 * the message stays where it is, which on a FIFO queue also keeps the later
 * messages of its group (its key) waiting behind it. SQS counts receives
 * (ApproximateReceiveCount), so that is the attempt number; the history of
 * failures lives in this process, since a message's attributes cannot change.
 */
export class SqsConsumer implements Consumer, ConsumerBackend<SqsHandle> {
  private readonly runtime: ConsumerRuntime<SqsHandle>;
  private readonly abort = new AbortController();
  private readonly held = new Set<SqsHandle>();
  private readonly roomWaiters: (() => void)[] = [];
  private reserved = 0;
  private stopped = false;
  private pollers: Promise<void>[] = [];
  private heartbeatTimer: unknown;

  constructor(
    readonly queue: string,
    private readonly policy: QueuePolicy,
    handler: MessageHandler,
    options: ConsumeOptions,
    private readonly ctx: SqsConsumerContext,
  ) {
    this.runtime = new ConsumerRuntime(queue, policy, handler, options, ctx.deps, this, ctx.reporter, ctx.closeTimeoutMs);
  }

  get active(): number {
    return this.runtime.active;
  }

  start(): void {
    const n = Math.min(4, Math.ceil(this.runtime.prefetch / 10));
    this.pollers = Array.from({ length: n }, () => this.poll());
    this.scheduleHeartbeat();
  }

  async close(options?: { drainTimeoutMs?: number }): Promise<void> {
    await this.runtime.close(options);
    // Let the long polls in progress end by themselves: SQS does not notice a
    // client hanging up, so an aborted poll can still take messages that then
    // stay invisible for a whole lease. What they bring now is released.
    if (!(await settlesWithin(this.ctx.deps.timers, Promise.all(this.pollers), this.ctx.closeTimeoutMs))) this.abort.abort();
    this.ctx.deps.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.ctx.closed(this);
  }

  private get leaseSeconds(): number {
    return Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(this.policy.leaseMs / 1000));
  }

  private async poll(): Promise<void> {
    while (!this.stopped) {
      const want = Math.min(10, this.runtime.room - this.reserved);
      if (want <= 0) {
        await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
        continue;
      }
      this.reserved += want;
      let messages: Message[] = [];
      try {
        const out = await this.ctx.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.ctx.url,
            MaxNumberOfMessages: want,
            WaitTimeSeconds: this.ctx.waitTimeSeconds,
            VisibilityTimeout: this.leaseSeconds,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            MessageAttributeNames: [HUB_ATTRIBUTE],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (err) {
        if (this.stopped || isAbort(err)) break;
        const e = wrapSqsError(err, `receiving from queue ${this.queue}`);
        this.ctx.deps.logger.warn('queue receive failed; retrying', { queue: this.queue, code: e.code, ...summarizeError(err) });
        this.ctx.reporter.error(e);
        await sleep(this.ctx.deps.timers, RECEIVE_ERROR_BACKOFF_MS);
        continue;
      } finally {
        this.reserved -= want;
      }
      for (const m of messages) this.deliver(m);
    }
  }

  private deliver(m: Message): void {
    if (!m.ReceiptHandle) return;
    const attempts = Number(m.Attributes?.ApproximateReceiveCount ?? '1') || 1;
    let wire: SqsWire & { bodyError?: unknown };
    try {
      wire = decodeSqs(m.Body, m.MessageAttributes, this.ctx.cipher);
    } catch (err) {
      // Not a hub message: leave it for SQS's redrive to move to the dead-letter queue.
      this.ctx.deps.logger.warn('queue ignored a foreign message; SQS redrive will move it', { queue: this.queue, ...summarizeError(err) });
      return;
    }
    const handle: SqsHandle = { receipt: m.ReceiptHandle, wire, rawBody: m.Body ?? '' };
    const message: QueueMessage = {
      id: wire.id,
      queue: this.queue,
      key: wire.key,
      body: wire.body,
      headers: wire.headers,
      attempts,
      firstEnqueuedAt: new Date(wire.firstEnqueuedAt),
      enqueuedAt: new Date(wire.enqueuedAt),
      deadlineAt: this.policy.maxAgeMs === null ? null : new Date(wire.enqueuedAt + this.policy.maxAgeMs),
      history: this.ctx.history.get(wire.id) ?? wire.history,
    };
    this.held.add(handle);
    if (wire.bodyError !== undefined) {
      const failure = describeFailure(wire.bodyError, attempts, new Date(this.ctx.deps.now()));
      void this.settle({ message, handle }, { kind: 'dead', reason: 'permanent', failure, history: appendHistory(message.history, failure), escalation: null })
        .then(() => this.ctx.reporter.deadLettered({ queue: this.queue, id: message.id, reason: 'permanent', attempts, errorCode: failure.code }))
        .catch((err: unknown) => this.ctx.deps.logger.warn('queue could not dead-letter an unreadable message', { queue: this.queue, id: message.id, ...summarizeError(err) }));
      return;
    }
    this.runtime.accept(message, handle);
  }

  async settle(held: Held<SqsHandle>, outcome: Outcome): Promise<void> {
    const h = held.handle;
    // No longer renewed from here on: a renewal racing the retry's visibility change would undo it.
    this.held.delete(h);
    if (outcome.kind === 'ack') {
      await this.ctx.deleteMessage(h.receipt);
      this.ctx.history.delete(held.message.id);
    } else if (outcome.kind === 'retry') {
      this.ctx.history.set(held.message.id, outcome.history);
      const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(outcome.delayMs / 1000));
      await this.changeVisibility(h.receipt, seconds, `scheduling the retry of message ${held.message.id}`);
    } else {
      await this.ctx.deadLetter(h, held.message.attempts, outcome);
      this.ctx.history.delete(held.message.id);
    }
  }

  async release(held: Held<SqsHandle>[]): Promise<void> {
    await Promise.all(
      held.map(async (h) => {
        this.held.delete(h.handle);
        await this.changeVisibility(h.handle.receipt, 0, 'releasing a message').catch(() => undefined);
      }),
    );
  }

  async stopFetching(): Promise<void> {
    this.stopped = true;
    for (const w of this.roomWaiters.splice(0)) w();
  }

  onRoom(): void {
    for (const w of this.roomWaiters.splice(0)) w();
  }

  private async changeVisibility(receipt: string, seconds: number, what: string): Promise<void> {
    try {
      await this.ctx.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: this.ctx.url, ReceiptHandle: receipt, VisibilityTimeout: seconds }));
    } catch (err) {
      throw wrapSqsError(err, `${what} on queue ${this.queue}`);
    }
  }

  /** Renews the visibility of what this consumer holds, so running handlers keep their messages. */
  private scheduleHeartbeat(): void {
    const every = Math.max(500, Math.floor(this.policy.leaseMs / 2));
    this.heartbeatTimer = this.ctx.deps.timers.setTimeout(() => {
      const handles = [...this.held];
      const renew = async (): Promise<void> => {
        for (let i = 0; i < handles.length; i += 10) {
          const batch = handles.slice(i, i + 10);
          await this.ctx.client.send(
            new ChangeMessageVisibilityBatchCommand({
              QueueUrl: this.ctx.url,
              Entries: batch.map((h, j) => ({ Id: String(j), ReceiptHandle: h.receipt, VisibilityTimeout: this.leaseSeconds })),
            }),
          );
        }
      };
      void renew()
        .catch((err: unknown) => this.ctx.deps.logger.warn('queue visibility renewal failed', { queue: this.queue, ...summarizeError(err) }))
        .finally(() => {
          if (this.heartbeatTimer !== undefined) this.scheduleHeartbeat();
        });
    }, every);
  }
}
