import { EventEmitter } from 'node:events';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import type { MessageAttributeValue, SQSClient } from '@aws-sdk/client-sqs';
import type { IntegrationError } from '../shared/errors';
import type { BodyCipher } from '../store/body-cipher';
import { Batcher } from './batcher';
import { Gate } from './gate';
import type { ConsumerReporter, Outcome } from './consumer-runtime';
import { lastFailure, matchesDeadLetter, offsetFromCursor, pageLimit } from './dead-letters';
import { resolveDeps } from './deps';
import type { QueueDeps, ResolvedQueueDeps } from './deps';
import { DeadLetterNotFoundError, QueueBackendError, QueueClosedError, QueueMessageError } from './errors';
import { checkHeaders, normalizeInput } from './message-input';
import type { ConsumeOptions, Consumer, MessageHandler, MessageQueue, MessageQueueEvents } from './message-queue';
import type { QueuePolicy, QueuePolicyInput } from './policy';
import { PolicyRegistry } from './policy-registry';
import { appendHistory } from './retry-decision';
import { decodeSqs, encodeSqs, HUB_ATTRIBUTE } from './sqs-codec';
import type { SqsWire } from './sqs-codec';
import { SqsConsumer } from './sqs-consumer';
import type { SqsHandle } from './sqs-consumer';
import { wrapSqsError } from './sqs-errors';
import type { DeadLetter, DeadLetterFilter, DeadLetterPage, EnqueueInput, EnqueueReceipt, HistoryEntry, QueueStats, ReplayOptions } from './types';

export const SQS_CLOSE_TIMEOUT_MS = 5000;
/** Base64 grows a body by a third and SQS takes 256 KiB per message including attributes. */
export const SQS_MAX_BODY_BYTES = 180 * 1024;
/** Dead letters are browsed by receiving them; this bounds one scan. */
export const SQS_MAX_DEAD_LETTER_SCAN = 2000;
/** SQS keeps messages at most 14 days: that is how long dead letters last there. */
const RETENTION_SECONDS = '1209600';
/** Receives beyond maxAttempts before SQS's own redrive moves a message (consumers that crash on it every time). */
const REDRIVE_SLACK = 3;
const SCAN_VISIBILITY_SECONDS = 30;
const MAX_BATCH_BYTES = 200 * 1024;

export interface SqsQueueOptions {
  /** Prefix of every SQS queue name. Default `hub-`. */
  prefix?: string;
  policies?: Record<string, QueuePolicyInput>;
  defaultPolicy?: QueuePolicyInput;
  /** Seal bodies before they reach SQS (same keys on every hub process). Default: bodies as given. */
  cipher?: BodyCipher;
  /**
   * Long-poll wait, 0-20 s. Default 5: a closing consumer lets its last poll
   * finish (an abandoned one can still take messages), so this bounds close.
   */
  waitTimeSeconds?: number;
  /**
   * How long a dead-letter scan waits for one more batch; 1 s makes real SQS
   * query all its servers (short polls sample some). Default 1.
   */
  scanWaitSeconds?: number;
  /** Default {@link SQS_CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
  /** Default {@link SQS_MAX_BODY_BYTES}. */
  maxBodyBytes?: number;
  /** Default {@link SQS_MAX_DEAD_LETTER_SCAN}. */
  maxDeadLetterScan?: number;
  /** Send requests outstanding at once (each carries up to ten messages). Default 16. */
  maxSendsInFlight?: number;
  /** Enqueues accepted and not yet answered by SQS before producers must wait. Default 2000. */
  maxPendingSends?: number;
}

export interface SqsQueueDeps extends QueueDeps {
  /** The SDK client, configured with region, credentials and (for fauxqs or LocalStack) endpoint. */
  client: SQSClient;
  /** Destroy the client on close (when the adapter's factory made it). Default false: the caller owns it. */
  ownsClient?: boolean;
}

interface QueueUrls {
  url: string;
  deadUrl: string;
  fifo: boolean;
}

interface SendEntry {
  url: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  groupId?: string;
  dedupId?: string;
}

interface ScannedDeadLetter {
  receipt: string;
  wire: SqsWire;
  deadLetter: DeadLetter;
}

/**
 * SQS backend (@aws-sdk/client-sqs): long polling, retries by
 * ChangeMessageVisibility, a dead-letter queue that this adapter fills with
 * the error and history (and that SQS's redrive also feeds, as a safety net
 * for messages whose consumers crash on them), and FIFO queues with the
 * message key as MessageGroupId when the policy asks for ordering.
 *
 * Enqueues are batched (SendMessageBatch, ten per call) and resolve once SQS
 * has accepted the message. Any number of hub processes can consume one
 * queue; SQS hands each message (each FIFO group) to one of them at a time.
 */
export class SqsQueue extends EventEmitter<MessageQueueEvents> implements MessageQueue {
  readonly backend = 'sqs' as const;
  private readonly deps: ResolvedQueueDeps;
  private readonly client: SQSClient;
  private readonly ownsClient: boolean;
  private readonly policies: PolicyRegistry;
  private readonly prefix: string;
  private readonly urls = new Map<string, Promise<QueueUrls>>();
  private readonly consumers = new Set<SqsConsumer>();
  private readonly history = new BoundedMap<string, HistoryEntry[]>(10_000);
  private readonly sender: Batcher<SendEntry>;
  private readonly sendRoom: Gate;
  private readonly deleter: Batcher<{ url: string; receipt: string }>;
  private readonly reporter: ConsumerReporter;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly options: SqsQueueOptions,
    deps: SqsQueueDeps,
  ) {
    super();
    this.deps = resolveDeps(deps);
    this.client = deps.client;
    this.ownsClient = deps.ownsClient === true;
    this.policies = new PolicyRegistry(options.policies, options.defaultPolicy);
    this.prefix = options.prefix ?? 'hub-';
    this.sender = new Batcher((entries) => this.sendBatch(entries), 10, options.maxSendsInFlight ?? 16);
    this.sendRoom = new Gate(options.maxPendingSends ?? 2000);
    this.deleter = new Batcher((entries) => this.deleteBatch(entries), 10, 8);
    this.reporter = {
      escalation: (e) => this.emit('escalation', e),
      deadLettered: (info) => this.emit('deadLettered', info),
      error: (e) => this.reportError(e),
    };
  }

  async declareQueue(queue: string, policy?: QueuePolicyInput): Promise<QueuePolicy> {
    this.assertOpen();
    const p = this.policies.declare(queue, policy);
    this.urls.delete(queue);
    await this.queueUrls(queue);
    return p;
  }

  policyFor(queue: string): QueuePolicy {
    return this.policies.get(queue);
  }

  async enqueue(queue: string, input: EnqueueInput): Promise<EnqueueReceipt> {
    this.assertOpen();
    const now = this.deps.now();
    const msg = normalizeInput(input, this.options.maxBodyBytes ?? SQS_MAX_BODY_BYTES, now);
    const urls = await this.queueUrls(queue);
    const wire: SqsWire = { id: msg.id, key: msg.key, headers: msg.headers, firstEnqueuedAt: now, enqueuedAt: now, history: [], body: msg.body };
    // The id as deduplication id: a producer retrying after a lost answer does not add a copy (FIFO, 5-minute window).
    await this.sendRoom.run(() => this.send(urls, urls.url, wire, msg.id));
    return { id: msg.id, queue };
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    this.assertOpen();
    const policy = this.policies.get(queue);
    const urls = await this.queueUrls(queue);
    const consumer = new SqsConsumer(queue, policy, handler, options, {
      client: this.client,
      url: urls.url,
      deps: this.deps,
      reporter: this.reporter,
      closeTimeoutMs: this.options.closeTimeoutMs ?? SQS_CLOSE_TIMEOUT_MS,
      waitTimeSeconds: this.options.waitTimeSeconds ?? 5,
      cipher: this.options.cipher,
      history: this.history,
      deleteMessage: (receipt) => this.deleter.submit({ url: urls.url, receipt }),
      deadLetter: (handle, attempts, outcome) => this.deadLetter(urls, handle, attempts, outcome),
      closed: (c) => this.consumers.delete(c),
    });
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  async stats(queue: string): Promise<QueueStats> {
    this.assertOpen();
    const urls = await this.queueUrls(queue);
    const attrs = async (url: string): Promise<Record<string, string>> => {
      try {
        const out = await this.client.send(
          new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
        );
        return out.Attributes ?? {};
      } catch (err) {
        throw wrapSqsError(err, `reading the depth of queue ${queue}`);
      }
    };
    const [main, dead] = await Promise.all([attrs(urls.url), attrs(urls.deadUrl)]);
    const n = (v: string | undefined): number => Number(v ?? 0) || 0;
    return {
      queue,
      backend: this.backend,
      ready: n(main.ApproximateNumberOfMessages),
      delayed: n(main.ApproximateNumberOfMessagesDelayed),
      // SQS counts a message waiting out a retry backoff as not visible, i.e. in flight.
      inFlight: n(main.ApproximateNumberOfMessagesNotVisible),
      dead: n(dead.ApproximateNumberOfMessages) + n(dead.ApproximateNumberOfMessagesNotVisible),
      // The SQS API has no such figure (CloudWatch's ApproximateAgeOfOldestMessage has).
      oldestWaitingAgeMs: null,
    };
  }

  async listDeadLetters(queue: string, filter: DeadLetterFilter & { limit?: number; cursor?: string } = {}): Promise<DeadLetterPage> {
    const limit = pageLimit(filter.limit);
    const offset = offsetFromCursor(filter.cursor);
    return this.scanDead(queue, async (items) => {
      const matching = items.map((i) => i.deadLetter).filter((d) => matchesDeadLetter(d, filter));
      matching.sort((a, b) => a.deadAt.getTime() - b.deadAt.getTime() || (a.id < b.id ? -1 : 1));
      const page = matching.slice(offset, offset + limit).map(({ body: _body, ...rest }) => rest);
      return { items: page, nextCursor: offset + limit < matching.length ? String(offset + limit) : null };
    });
  }

  async getDeadLetter(queue: string, id: string, options: { includeBody?: boolean } = {}): Promise<DeadLetter | null> {
    return this.scanDead(queue, async (items) => {
      const found = items.find((i) => i.wire.id === id);
      if (!found) return null;
      const { body, ...rest } = found.deadLetter;
      return options.includeBody ? { ...rest, body } : rest;
    });
  }

  async replayDeadLetter(queue: string, id: string, options: ReplayOptions = {}): Promise<void> {
    await this.scanDead(queue, async (items, urls, done) => {
      const found = items.find((i) => i.wire.id === id);
      if (!found) throw new DeadLetterNotFoundError(queue, id);
      await this.replayOne(urls, found, options);
      done(found);
    });
  }

  async replayDeadLetters(queue: string, filter: DeadLetterFilter = {}, options: { by?: string } = {}): Promise<number> {
    return this.scanDead(queue, async (items, urls, done) => {
      let n = 0;
      for (const item of items) {
        if (!matchesDeadLetter(item.deadLetter, filter)) continue;
        await this.replayOne(urls, item, { by: options.by });
        done(item);
        n++;
      }
      return n;
    });
  }

  async discardDeadLetter(queue: string, id: string): Promise<void> {
    await this.scanDead(queue, async (items, urls, done) => {
      const found = items.find((i) => i.wire.id === id);
      if (!found) throw new DeadLetterNotFoundError(queue, id);
      await this.deleteOne(urls.deadUrl, found.receipt);
      done(found);
    });
  }

  async deleteQueue(queue: string): Promise<void> {
    this.assertOpen();
    await Promise.all([...this.consumers].filter((c) => c.queue === queue).map((c) => c.close({ drainTimeoutMs: 0 })));
    const urls = await this.queueUrls(queue);
    for (const url of [urls.url, urls.deadUrl]) {
      try {
        await this.client.send(new DeleteQueueCommand({ QueueUrl: url }));
      } catch (err) {
        if (!/NonExistentQueue|QueueDoesNotExist/.test((err as Error).name)) throw wrapSqsError(err, `deleting queue ${queue}`);
      }
    }
    this.urls.delete(queue);
    this.policies.forget(queue);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    try {
      await this.client.send(new ListQueuesCommand({ MaxResults: 1, QueueNamePrefix: this.prefix }));
    } catch (err) {
      throw wrapSqsError(err, 'checking SQS');
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((c) => c.close()));
      if (this.ownsClient) this.client.destroy();
    })();
    return this.closing;
  }

  /** SQS names: `<prefix><queue>` and `<prefix><queue>-dead`, with `.fifo` for key-ordered queues. */
  private queueUrls(queue: string): Promise<QueueUrls> {
    let p = this.urls.get(queue);
    if (!p) {
      p = this.createQueues(queue);
      p.catch(() => this.urls.delete(queue));
      this.urls.set(queue, p);
    }
    return p;
  }

  private async createQueues(queue: string): Promise<QueueUrls> {
    const policy = this.policies.get(queue);
    const fifo = policy.ordering === 'key';
    const suffix = fifo ? '.fifo' : '';
    const fifoAttrs: Record<string, string> = fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'false' } : {};
    const deadUrl = await this.createOrUpdate(`${this.prefix}${queue}-dead${suffix}`, { ...fifoAttrs, MessageRetentionPeriod: RETENTION_SECONDS });
    let deadArn: string | undefined;
    try {
      deadArn = (await this.client.send(new GetQueueAttributesCommand({ QueueUrl: deadUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    } catch (err) {
      throw wrapSqsError(err, `reading the dead-letter queue of ${queue}`);
    }
    if (!deadArn) throw new QueueBackendError(`SQS did not return the ARN of the dead-letter queue of ${queue}`, 'PROVIDER', true);
    const url = await this.createOrUpdate(`${this.prefix}${queue}${suffix}`, {
      ...fifoAttrs,
      MessageRetentionPeriod: RETENTION_SECONDS,
      VisibilityTimeout: String(Math.ceil(policy.leaseMs / 1000)),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadArn, maxReceiveCount: policy.maxAttempts + REDRIVE_SLACK }),
    });
    return { url, deadUrl, fifo };
  }

  /** CreateQueue is idempotent only with identical attributes; a changed policy updates the existing queue. */
  private async createOrUpdate(name: string, attributes: Record<string, string>): Promise<string> {
    try {
      const out = await this.client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      return out.QueueUrl!;
    } catch (err) {
      if (!/QueueAlreadyExists|QueueNameExists/.test((err as Error).name)) throw wrapSqsError(err, `creating SQS queue ${name}`);
    }
    try {
      const url = (await this.client.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
      const { FifoQueue: _fifo, ContentBasedDeduplication: _cbd, ...mutable } = attributes;
      await this.client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: mutable }));
      return url;
    } catch (err) {
      throw wrapSqsError(err, `updating SQS queue ${name}`);
    }
  }

  private async send(urls: QueueUrls, url: string, wire: SqsWire, dedupId: string, groupId?: string): Promise<void> {
    const { body, attributes } = encodeSqs(wire, this.options.cipher);
    const entry: SendEntry = { url, body, attributes };
    if (urls.fifo) {
      entry.groupId = groupId ?? wire.key ?? wire.id;
      entry.dedupId = dedupId;
    }
    await this.sender.submit(entry);
  }

  /** One SendMessageBatch per queue URL in the batch (usually one), split to stay under the request size limit. */
  private async sendBatch(entries: SendEntry[]): Promise<(void | Error)[]> {
    const results: (void | Error)[] = new Array<void | Error>(entries.length);
    const groups = new Map<string, number[]>();
    entries.forEach((e, i) => groups.set(e.url, [...(groups.get(e.url) ?? []), i]));
    for (const [url, indexes] of groups) {
      let chunk: number[] = [];
      let bytes = 0;
      const flush = async (): Promise<void> => {
        if (chunk.length === 0) return;
        const ids = chunk;
        chunk = [];
        bytes = 0;
        try {
          const out = await this.client.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: ids.map((i) => {
                const e = entries[i]!;
                return { Id: String(i), MessageBody: e.body, MessageAttributes: e.attributes, MessageGroupId: e.groupId, MessageDeduplicationId: e.dedupId };
              }),
            }),
          );
          for (const f of out.Failed ?? []) {
            const i = Number(f.Id);
            results[i] = f.SenderFault
              ? new QueueMessageError(`SQS refused message ${f.Code ?? ''}`.trim())
              : new QueueBackendError(`SQS could not store a message (${f.Code ?? 'unknown'})`, 'PROVIDER', true);
          }
        } catch (err) {
          const e = wrapSqsError(err, 'sending to SQS');
          for (const i of ids) results[i] = e;
        }
      };
      for (const i of indexes) {
        const size = entries[i]!.body.length + (entries[i]!.attributes[HUB_ATTRIBUTE]?.StringValue?.length ?? 0);
        if (bytes + size > MAX_BATCH_BYTES) await flush();
        chunk.push(i);
        bytes += size;
      }
      await flush();
    }
    return results;
  }

  private async deleteBatch(entries: { url: string; receipt: string }[]): Promise<(void | Error)[]> {
    const results: (void | Error)[] = new Array<void | Error>(entries.length);
    const groups = new Map<string, number[]>();
    entries.forEach((e, i) => groups.set(e.url, [...(groups.get(e.url) ?? []), i]));
    for (const [url, ids] of groups) {
      try {
        const out = await this.client.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: ids.map((i) => ({ Id: String(i), ReceiptHandle: entries[i]!.receipt })) }));
        for (const f of out.Failed ?? []) results[Number(f.Id)] = new QueueBackendError(`SQS could not delete a message (${f.Code ?? 'unknown'})`, 'PROVIDER', true);
      } catch (err) {
        const e = wrapSqsError(err, 'deleting from SQS');
        for (const i of ids) results[i] = e;
      }
    }
    return results;
  }

  private async deleteOne(url: string, receipt: string): Promise<void> {
    try {
      await this.client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: receipt }));
    } catch (err) {
      throw wrapSqsError(err, 'deleting from SQS');
    }
  }

  /** Sent to the dead-letter queue (confirmed) before the original is deleted: a crash in between duplicates, never loses. */
  private async deadLetter(urls: QueueUrls, handle: SqsHandle, attempts: number, outcome: Extract<Outcome, { kind: 'dead' }>): Promise<void> {
    const now = this.deps.now();
    const wire: SqsWire = { ...handle.wire, history: outcome.history, dead: { at: now, reason: outcome.reason, errorCode: outcome.failure.code, attempts } };
    const { attributes } = encodeSqs(wire, this.options.cipher);
    const entry: SendEntry = { url: urls.deadUrl, body: handle.rawBody, attributes };
    if (urls.fifo) {
      // Its own group: dead letters need no order, and one must not hide the others from a scan.
      entry.groupId = `${wire.id}.${now}`.slice(0, 128);
      entry.dedupId = `${wire.id}.${now}`.slice(0, 128);
    }
    await this.sender.submit(entry);
    await this.deleter.submit({ url: urls.url, receipt: handle.receipt });
  }

  private async replayOne(urls: QueueUrls, item: ScannedDeadLetter, options: ReplayOptions): Promise<void> {
    const now = this.deps.now();
    const edited = options.body !== undefined || options.headers !== undefined;
    const body = options.body !== undefined ? normalizeInput({ id: item.wire.id, body: options.body }, this.options.maxBodyBytes ?? SQS_MAX_BODY_BYTES, now).body : item.wire.body;
    const headers = options.headers !== undefined ? checkHeaders(options.headers, item.wire.id) : item.wire.headers;
    const wire: SqsWire = {
      id: item.wire.id,
      key: item.wire.key,
      headers,
      firstEnqueuedAt: item.wire.firstEnqueuedAt,
      enqueuedAt: now,
      history: appendHistory(item.wire.history, { event: 'replayed', at: new Date(now), edited, by: options.by ?? null }),
      body,
    };
    this.history.delete(wire.id);
    // A fresh deduplication id: the original one may still be inside SQS's five-minute window.
    await this.send(urls, urls.url, wire, `${wire.id}.r${now}`.slice(0, 128));
    await this.deleteOne(urls.deadUrl, item.receipt);
  }

  /**
   * Receives the dead letters (up to `maxDeadLetterScan`) with a short
   * visibility timeout, lets `fn` act on them and report which it removed
   * through `done`, then makes the rest visible again. SQS has no other way to
   * browse a queue; during a scan, other scans see fewer letters.
   */
  private async scanDead<T>(
    queue: string,
    fn: (items: ScannedDeadLetter[], urls: QueueUrls, done: (item: ScannedDeadLetter) => void) => Promise<T>,
  ): Promise<T> {
    this.assertOpen();
    const urls = await this.queueUrls(queue);
    const items: ScannedDeadLetter[] = [];
    const seen = new Set<string>();
    const max = this.options.maxDeadLetterScan ?? SQS_MAX_DEAD_LETTER_SCAN;
    try {
      while (items.length < max) {
        let out;
        try {
          out = await this.client.send(
            new ReceiveMessageCommand({
              QueueUrl: urls.deadUrl,
              MaxNumberOfMessages: 10,
              VisibilityTimeout: SCAN_VISIBILITY_SECONDS,
              WaitTimeSeconds: this.options.scanWaitSeconds ?? 1,
              MessageSystemAttributeNames: ['SentTimestamp'],
              MessageAttributeNames: [HUB_ATTRIBUTE],
            }),
          );
        } catch (err) {
          throw wrapSqsError(err, `reading the dead letters of ${queue}`);
        }
        const batch = out.Messages ?? [];
        if (batch.length === 0) break;
        for (const m of batch) {
          if (!m.ReceiptHandle || !m.MessageId || seen.has(m.MessageId)) continue;
          seen.add(m.MessageId);
          let wire: SqsWire;
          try {
            wire = decodeSqs(m.Body, m.MessageAttributes, this.options.cipher);
          } catch {
            continue;
          }
          items.push({ receipt: m.ReceiptHandle, wire, deadLetter: this.toDeadLetter(queue, wire, Number(m.Attributes?.SentTimestamp ?? 0)) });
        }
      }
      const removed = new Set<ScannedDeadLetter>();
      const result = await fn(items, urls, (item) => removed.add(item));
      items.splice(0, items.length, ...items.filter((i) => !removed.has(i)));
      return result;
    } finally {
      await this.releaseScanned(urls.deadUrl, items);
    }
  }

  private async releaseScanned(url: string, items: ScannedDeadLetter[]): Promise<void> {
    for (let i = 0; i < items.length; i += 10) {
      const batch = items.slice(i, i + 10);
      await this.client
        .send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: url, Entries: batch.map((it, j) => ({ Id: String(j), ReceiptHandle: it.receipt, VisibilityTimeout: 0 })) }))
        .catch(() => undefined);
    }
  }

  private toDeadLetter(queue: string, w: SqsWire, sentAt: number): DeadLetter {
    return {
      id: w.id,
      queue,
      key: w.key,
      headers: w.headers,
      attempts: w.dead?.attempts ?? 0,
      firstEnqueuedAt: new Date(w.firstEnqueuedAt),
      enqueuedAt: new Date(w.enqueuedAt),
      // Moved by SQS's redrive rather than by a consumer: no dead-letter record of ours.
      deadAt: new Date(w.dead?.at ?? (sentAt || w.enqueuedAt)),
      reason: w.dead?.reason ?? 'redrive',
      lastError: lastFailure(w.history),
      history: w.history,
      size: w.body.length,
      body: w.body,
    };
  }

  private assertOpen(): void {
    if (this.closing) throw new QueueClosedError('the SQS adapter is closed');
  }

  private reportError(error: IntegrationError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** A Map that forgets its oldest entries beyond `max` (the per-process retry history). */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.size > this.max) super.delete(this.keys().next().value as K);
    return this;
  }
}
