import { EventEmitter } from 'node:events';
import { connect as amqpConnect } from 'amqplib';
import type { Channel, ChannelModel, GetMessage } from 'amqplib';
import type { IntegrationError } from '../shared/errors';
import type { BodyCipher } from '../store/body-cipher';
import type { ConsumerReporter } from './consumer-runtime';
import { matchesDeadLetter, offsetFromCursor, pageLimit, lastFailure } from './dead-letters';
import { resolveDeps } from './deps';
import type { QueueDeps, ResolvedQueueDeps } from './deps';
import { DeadLetterNotFoundError, QueueClosedError, QueueConfigError, QueueUnavailableError } from './errors';
import { checkHeaders, normalizeInput } from './message-input';
import type { ConsumeOptions, Consumer, MessageHandler, MessageQueue, MessageQueueEvents } from './message-queue';
import type { QueuePolicy, QueuePolicyInput } from './policy';
import { PolicyRegistry } from './policy-registry';
import { decodeWire, encodeWire } from './rabbitmq-codec';
import type { WireMessage } from './rabbitmq-codec';
import { RabbitMqConnection } from './rabbitmq-connection';
import type { AmqpConnect } from './rabbitmq-connection';
import { RabbitMqConsumer } from './rabbitmq-consumer';
import { brokerNames, deadQueueArgs, retryLevels, retryQueueArgs, shardOf, workQueueArgs } from './rabbitmq-topology';
import type { BrokerNames, RetryQueueType } from './rabbitmq-topology';
import { appendHistory } from './retry-decision';
import type { DeadLetter, DeadLetterFilter, DeadLetterPage, EnqueueInput, EnqueueReceipt, QueueStats, ReplayOptions } from './types';

export const RABBITMQ_CLOSE_TIMEOUT_MS = 5000;
export const RABBITMQ_PUBLISH_TIMEOUT_MS = 30_000;
/** Dead letters are browsed by fetching and requeueing them; this bounds one scan. */
export const RABBITMQ_MAX_DEAD_LETTER_SCAN = 10_000;

export interface RabbitMqQueueOptions {
  /** `amqp://user:pass@host:5672/vhost` (or amqps://). Never logged: it holds the password. */
  url: string;
  /** Prefix of every broker object, so several systems can share a vhost. Default `hub.`. */
  prefix?: string;
  policies?: Record<string, QueuePolicyInput>;
  defaultPolicy?: QueuePolicyInput;
  /** Seal bodies before they reach the broker (same keys on every hub process). Default: bodies as given. */
  cipher?: BodyCipher;
  /** AMQP heartbeat, seconds: how fast a dead TCP peer is noticed. Default 15. */
  heartbeatSec?: number;
  /** Default 10000. */
  connectTimeoutMs?: number;
  /** Reconnect backoff bounds, default 200 and 5000 ms. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Publishes awaiting a confirm at once. Default 1000. */
  maxUnconfirmed?: number;
  /** Publishes accepted before producers must wait. Default 10000. */
  maxPendingPublishes?: number;
  /** Default {@link RABBITMQ_PUBLISH_TIMEOUT_MS}; also how long a call waits for a reconnect. */
  publishTimeoutMs?: number;
  /** Default {@link RABBITMQ_CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
  /** Type of the retry (delay) queues. Default `quorum` (at-least-once dead-lettering back to the work queue). */
  retryQueueType?: RetryQueueType;
  /** Default 16 MiB. */
  maxBodyBytes?: number;
  /** Default {@link RABBITMQ_MAX_DEAD_LETTER_SCAN}. */
  maxDeadLetterScan?: number;
}

export interface RabbitMqQueueDeps extends QueueDeps {
  connect?: AmqpConnect;
}

interface ScannedDeadLetter {
  msg: GetMessage;
  wire: WireMessage;
}

/**
 * RabbitMQ backend (amqplib): durable queues, persistent messages, publisher
 * confirms, manual acks with a bounded prefetch, delayed retries through
 * per-delay TTL queues that dead-letter back to the work queue, a dead-letter
 * queue, and a connection that heals itself and re-declares its topology
 * after a broker restart. See rabbitmq-topology.ts for the broker objects and
 * why key ordering uses hashed single-active-consumer shards.
 *
 * Several hub processes on the same queues share the work: the broker spreads
 * a parallel queue's messages over all consumers, and gives each shard of an
 * ordered queue to one consumer at a time (the others take over if it goes).
 */
export class RabbitMqQueue extends EventEmitter<MessageQueueEvents> implements MessageQueue {
  readonly backend = 'rabbitmq' as const;
  /** Publishing, declaring, browsing dead letters. */
  private readonly conn: RabbitMqConnection;
  /** Consumer channels and their acks. */
  private readonly consumerConn: RabbitMqConnection;
  private readonly deps: ResolvedQueueDeps;
  private readonly policies: PolicyRegistry;
  private readonly prefix: string;
  private readonly topology = new Map<string, Promise<void>>();
  /** Queues this process uses: re-declared after every reconnect. */
  private readonly known = new Set<string>();
  private readonly consumers = new Set<RabbitMqConsumer>();
  private readonly nameCache = new Map<string, { policy: QueuePolicy; names: BrokerNames }>();
  private readonly reporter: ConsumerReporter;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly options: RabbitMqQueueOptions,
    deps: RabbitMqQueueDeps = {},
  ) {
    super();
    this.deps = resolveDeps(deps);
    this.policies = new PolicyRegistry(options.policies, options.defaultPolicy);
    this.prefix = options.prefix ?? 'hub.';
    const heartbeat = options.heartbeatSec ?? 15;
    const connect: AmqpConnect = deps.connect ?? ((url, socketOptions) => amqpConnect(withHeartbeat(url, heartbeat), socketOptions));
    const connectionOptions = {
      url: options.url,
      connectTimeoutMs: options.connectTimeoutMs ?? 10_000,
      reconnectMinMs: options.reconnectMinMs ?? 200,
      reconnectMaxMs: options.reconnectMaxMs ?? 5000,
      maxUnconfirmed: options.maxUnconfirmed ?? 1000,
      maxPending: options.maxPendingPublishes ?? 10_000,
      publishTimeoutMs: options.publishTimeoutMs ?? RABBITMQ_PUBLISH_TIMEOUT_MS,
      closeTimeoutMs: options.closeTimeoutMs ?? RABBITMQ_CLOSE_TIMEOUT_MS,
    };
    // Two connections, as RabbitMQ advises: when the broker throttles a
    // publishing connection (flow control, a memory alarm), consumers on
    // another connection can still acknowledge, which is what frees memory.
    this.conn = new RabbitMqConnection(connectionOptions, connect, this.deps);
    this.consumerConn = new RabbitMqConnection(connectionOptions, connect, this.deps);
    this.conn.onSetup((model) => this.redeclareAll(model));
    for (const c of [this.conn, this.consumerConn]) {
      c.on('connected', () => {
        if (this.conn.isConnected && this.consumerConn.isConnected) this.emit('connected');
      });
      c.on('disconnected', (info) => this.emit('disconnected', info));
    }
    // After a reconnect consumers wait for a fresh declaration instead of trusting the old one.
    this.conn.on('disconnected', () => this.topology.clear());
    this.reporter = {
      escalation: (e) => this.emit('escalation', e),
      deadLettered: (info) => this.emit('deadLettered', info),
      error: (e) => this.reportError(e),
    };
    this.conn.start();
    this.consumerConn.start();
  }

  /** Resolves once connected (for startup checks); rejects after `timeoutMs`. */
  async ready(timeoutMs = this.options.connectTimeoutMs ?? 10_000): Promise<void> {
    await Promise.all([this.conn.connection(timeoutMs), this.consumerConn.connection(timeoutMs)]);
  }

  get peer(): string {
    return this.conn.peer;
  }

  async declareQueue(queue: string, policy?: QueuePolicyInput): Promise<QueuePolicy> {
    this.assertOpen();
    const p = this.policies.declare(queue, policy);
    this.topology.delete(queue);
    this.known.add(queue);
    await this.ensureTopology(queue);
    return p;
  }

  policyFor(queue: string): QueuePolicy {
    return this.policies.get(queue);
  }

  async enqueue(queue: string, input: EnqueueInput): Promise<EnqueueReceipt> {
    this.assertOpen();
    const policy = this.policies.get(queue);
    const now = this.deps.now();
    const msg = normalizeInput(input, this.options.maxBodyBytes ?? 16 * 1024 * 1024, now);
    await this.ensureTopology(queue);
    const wire: WireMessage = { id: msg.id, key: msg.key, headers: msg.headers, attempts: 0, firstEnqueuedAt: now, enqueuedAt: now, history: [], body: msg.body };
    await this.publishToWork(queue, policy, wire);
    return { id: msg.id, queue };
  }

  async consume(queue: string, handler: MessageHandler, options: ConsumeOptions = {}): Promise<Consumer> {
    this.assertOpen();
    const policy = this.policies.get(queue);
    this.known.add(queue);
    const consumer = new RabbitMqConsumer(queue, policy, handler, options, {
      conn: this.conn,
      consumerConn: this.consumerConn,
      names: this.names(queue),
      retryLevels: policy.ordering === 'key' ? [] : retryLevels(policy.backoff),
      cipher: this.options.cipher,
      deps: this.deps,
      reporter: this.reporter,
      closeTimeoutMs: this.options.closeTimeoutMs ?? RABBITMQ_CLOSE_TIMEOUT_MS,
      ensureTopology: () => this.ensureTopology(queue),
      closed: (c) => this.consumers.delete(c),
    });
    this.consumers.add(consumer);
    consumer.start();
    return consumer;
  }

  async stats(queue: string): Promise<QueueStats> {
    this.assertOpen();
    await this.ensureTopology(queue);
    const names = this.names(queue);
    const now = this.deps.now();
    const local = [...this.consumers].filter((c) => c.queue === queue);
    return this.conn.withChannel(async (ch) => {
      let ready = 0;
      let delayed = 0;
      let oldest: number | null = null;
      const seen = (t: number | null): void => {
        if (t !== null && (oldest === null || t < oldest)) oldest = t;
      };
      for (const n of names.work) {
        const depth = (await ch.checkQueue(n)).messageCount;
        ready += depth;
        if (depth > 0) seen(await peekEnqueuedAt(ch, n));
      }
      // Retry queues are counted, never peeked: taking a message out of a
      // quorum queue and returning it can hold up its TTL expiry.
      for (const n of names.retry.values()) delayed += (await ch.checkQueue(n)).messageCount;
      for (const c of local) seen(c.oldestHeldEnqueuedAt());
      const dead = (await ch.checkQueue(names.dead)).messageCount;
      const inFlight = local.reduce((sum, c) => sum + c.held, 0);
      const oldestAt: number | null = oldest;
      return { queue, backend: this.backend, ready, delayed, inFlight, dead, oldestWaitingAgeMs: oldestAt === null ? null : Math.max(0, now - oldestAt) };
    });
  }

  async listDeadLetters(queue: string, filter: DeadLetterFilter & { limit?: number; cursor?: string } = {}): Promise<DeadLetterPage> {
    const limit = pageLimit(filter.limit);
    const offset = offsetFromCursor(filter.cursor);
    return this.scanDead(queue, async (items) => {
      const matching = items.map((i) => this.toDeadLetter(queue, i.wire, false)).filter((d) => matchesDeadLetter(d, filter));
      const page = matching.slice(offset, offset + limit);
      return { items: page, nextCursor: offset + limit < matching.length ? String(offset + limit) : null };
    });
  }

  async getDeadLetter(queue: string, id: string, options: { includeBody?: boolean } = {}): Promise<DeadLetter | null> {
    return this.scanDead(queue, async (items) => {
      const found = items.find((i) => i.wire.id === id);
      return found ? this.toDeadLetter(queue, found.wire, options.includeBody === true) : null;
    });
  }

  async replayDeadLetter(queue: string, id: string, options: ReplayOptions = {}): Promise<void> {
    await this.scanDead(queue, async (items, ch) => {
      const found = items.find((i) => i.wire.id === id);
      if (!found) throw new DeadLetterNotFoundError(queue, id);
      await this.replayOne(queue, found, ch, options);
    });
  }

  async replayDeadLetters(queue: string, filter: DeadLetterFilter = {}, options: { by?: string } = {}): Promise<number> {
    return this.scanDead(queue, async (items, ch) => {
      let n = 0;
      for (const item of items) {
        if (!matchesDeadLetter(this.toDeadLetter(queue, item.wire, false), filter)) continue;
        await this.replayOne(queue, item, ch, { by: options.by });
        n++;
      }
      return n;
    });
  }

  async discardDeadLetter(queue: string, id: string): Promise<void> {
    await this.scanDead(queue, async (items, ch) => {
      const found = items.find((i) => i.wire.id === id);
      if (!found) throw new DeadLetterNotFoundError(queue, id);
      ch.ack(found.msg);
    });
  }

  async deleteQueue(queue: string): Promise<void> {
    this.assertOpen();
    await Promise.all([...this.consumers].filter((c) => c.queue === queue).map((c) => c.close({ drainTimeoutMs: 0 })));
    const names = this.names(queue);
    await this.conn.withChannel(async (ch) => {
      for (const n of [...names.work, ...names.retry.values(), names.dead]) await ch.deleteQueue(n);
    });
    this.topology.delete(queue);
    this.known.delete(queue);
    this.policies.forget(queue);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    if (!this.conn.isConnected || !this.consumerConn.isConnected) throw new QueueUnavailableError(`RabbitMQ at ${this.conn.peer} is not connected`);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.consumers].map((c) => c.close()));
      await Promise.all([this.conn.close(), this.consumerConn.close()]);
    })();
    return this.closing;
  }

  private names(queue: string): BrokerNames {
    const policy = this.policies.get(queue);
    const cached = this.nameCache.get(queue);
    if (cached?.policy === policy) return cached.names;
    const names = brokerNames(this.prefix, queue, policy);
    this.nameCache.set(queue, { policy, names });
    return names;
  }

  private async publishToWork(queue: string, policy: QueuePolicy, wire: WireMessage): Promise<void> {
    const names = this.names(queue);
    const target = policy.ordering === 'key' ? names.work[shardOf(wire.key ?? wire.id, policy.shards)]! : names.work[0]!;
    const { content, options } = encodeWire(wire, this.options.cipher);
    await this.conn.publish(target, content, options);
  }

  private ensureTopology(queue: string): Promise<void> {
    let p = this.topology.get(queue);
    if (!p) {
      this.known.add(queue);
      p = this.conn.connection().then((model) => this.declare(model, queue));
      p.catch(() => this.topology.delete(queue));
      this.topology.set(queue, p);
    }
    return p;
  }

  /** After a (re)connect, before anything is published: declare every queue this process uses. */
  private async redeclareAll(model: ChannelModel): Promise<void> {
    for (const queue of this.known) {
      try {
        await this.declare(model, queue);
        this.topology.set(queue, Promise.resolve());
      } catch (err) {
        if (!(err instanceof QueueConfigError)) throw err;
        this.topology.delete(queue);
        this.reportError(err);
      }
    }
  }

  private async declare(model: ChannelModel, queue: string): Promise<void> {
    const policy = this.policies.get(queue);
    const names = brokerNames(this.prefix, queue, policy);
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    let current = '';
    try {
      current = names.dead;
      await ch.assertQueue(names.dead, { durable: true, arguments: deadQueueArgs() });
      for (const [ttl, name] of names.retry) {
        current = name;
        await ch.assertQueue(name, { durable: true, arguments: retryQueueArgs(ttl, names.work[0]!, this.options.retryQueueType ?? 'quorum') });
      }
      for (const name of names.work) {
        current = name;
        await ch.assertQueue(name, { durable: true, arguments: workQueueArgs(policy.ordering === 'key') });
      }
    } catch (err) {
      if ((err as { code?: unknown }).code === 406) {
        throw new QueueConfigError(`RabbitMQ refused ${current}: it exists with other arguments (were ordering, shards or the retry queue type changed?)`, { cause: err });
      }
      throw new QueueUnavailableError(`declaring queue ${queue} on RabbitMQ at ${this.conn.peer} failed`, { cause: err });
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  /**
   * Fetches up to `maxDeadLetterScan` dead letters unacknowledged on a private
   * channel, lets `fn` ack the ones it replays or discards, and closes the
   * channel, which puts the rest back where they were. RabbitMQ has no other
   * way to browse a queue; while a scan runs, other scans see fewer letters.
   */
  private async scanDead<T>(queue: string, fn: (items: ScannedDeadLetter[], ch: Channel) => Promise<T>): Promise<T> {
    this.assertOpen();
    await this.ensureTopology(queue);
    const names = this.names(queue);
    const model = await this.conn.connection();
    const ch = await model.createChannel();
    ch.on('error', () => undefined);
    try {
      const items: ScannedDeadLetter[] = [];
      const max = this.options.maxDeadLetterScan ?? RABBITMQ_MAX_DEAD_LETTER_SCAN;
      while (items.length < max) {
        const msg = await ch.get(names.dead, { noAck: false });
        if (!msg) break;
        try {
          items.push({ msg, wire: decodeWire(msg.content, msg.properties, this.options.cipher) });
        } catch {
          // A foreign message quarantined here: left in place, not listed.
        }
      }
      return await fn(items, ch);
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private async replayOne(queue: string, item: ScannedDeadLetter, ch: Channel, options: ReplayOptions): Promise<void> {
    const now = this.deps.now();
    const policy = this.policies.get(queue);
    const edited = options.body !== undefined || options.headers !== undefined;
    const body = options.body !== undefined ? normalizeInput({ id: item.wire.id, body: options.body }, this.options.maxBodyBytes ?? 16 * 1024 * 1024, now).body : item.wire.body;
    const headers = options.headers !== undefined ? checkHeaders(options.headers, item.wire.id) : item.wire.headers;
    const wire: WireMessage = {
      id: item.wire.id,
      key: item.wire.key,
      headers,
      attempts: 0,
      firstEnqueuedAt: item.wire.firstEnqueuedAt,
      enqueuedAt: now,
      history: appendHistory(item.wire.history, { event: 'replayed', at: new Date(now), edited, by: options.by ?? null }),
      body,
    };
    // Confirmed on the work queue before the dead letter is acknowledged: a crash in between duplicates, never loses.
    await this.publishToWork(queue, policy, wire);
    ch.ack(item.msg);
  }

  private toDeadLetter(queue: string, w: WireMessage, includeBody: boolean): DeadLetter {
    const dl: DeadLetter = {
      id: w.id,
      queue,
      key: w.key,
      headers: w.headers,
      attempts: w.attempts,
      firstEnqueuedAt: new Date(w.firstEnqueuedAt),
      enqueuedAt: new Date(w.enqueuedAt),
      deadAt: new Date(w.dead?.at ?? w.enqueuedAt),
      reason: w.dead?.reason ?? 'permanent',
      lastError: lastFailure(w.history),
      history: w.history,
      size: w.body.length,
    };
    if (includeBody) dl.body = w.body;
    return dl;
  }

  private assertOpen(): void {
    if (this.closing) throw new QueueClosedError('the RabbitMQ adapter is closed');
  }

  private reportError(error: IntegrationError): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}

/** Reads the enqueue time of a queue's head without taking it (fetched, then requeued in place). */
async function peekEnqueuedAt(ch: Channel, queue: string): Promise<number | null> {
  const msg = await ch.get(queue, { noAck: false });
  if (!msg) return null;
  ch.nack(msg, false, true);
  const h = msg.properties.headers ?? {};
  const t = h['x-hub-enqueued'] ?? h['x-hub-first'];
  return typeof t === 'number' ? t : null;
}

function withHeartbeat(url: string, heartbeatSec: number): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(heartbeatSec));
    return u.toString();
  } catch {
    return url;
  }
}
