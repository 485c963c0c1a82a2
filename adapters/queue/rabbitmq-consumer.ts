import type { Channel, ConsumeMessage } from 'amqplib';
import type { BodyCipher } from '../store/body-cipher';
import { summarizeError } from '../shared/redact';
import { ConsumerRuntime } from './consumer-runtime';
import type { ConsumerBackend, ConsumerReporter, Held, Outcome } from './consumer-runtime';
import type { ResolvedQueueDeps } from './deps';
import type { ConsumeOptions, Consumer, MessageHandler } from './message-queue';
import type { QueuePolicy } from './policy';
import type { RabbitMqConnection } from './rabbitmq-connection';
import { decodeWire, encodeWire } from './rabbitmq-codec';
import type { WireMessage } from './rabbitmq-codec';
import { pickRetryLevel } from './rabbitmq-topology';
import type { BrokerNames } from './rabbitmq-topology';
import { appendHistory, describeFailure } from './retry-decision';
import type { HistoryEntry, QueueMessage } from './types';

/** A delivery and the channel it must be settled on. */
export interface RabbitDelivery {
  channel: Channel;
  msg: ConsumeMessage;
  wire: WireMessage;
}

export interface RabbitMqConsumerContext {
  /** Publishes retries and dead letters. */
  conn: RabbitMqConnection;
  /** Carries this consumer's channel (and so its acks). */
  consumerConn: RabbitMqConnection;
  names: BrokerNames;
  retryLevels: number[];
  cipher: BodyCipher | undefined;
  deps: ResolvedQueueDeps;
  reporter: ConsumerReporter;
  closeTimeoutMs: number;
  ensureTopology(): Promise<void>;
  closed(consumer: RabbitMqConsumer): void;
}

const RESUBSCRIBE_DELAY_MS = 1000;

/**
 * Manual-ack consumer on its own channel with a bounded prefetch.
 *
 * Parallel queues: one consumer with prefetch = the consumer's prefetch. A
 * failed attempt is republished, with its history, to the retry queue of the
 * chosen delay and acknowledged only once that publish is confirmed.
 *
 * Key-ordered queues: one consumer per shard with prefetch 1. A failed
 * attempt stays unacknowledged and is retried here after the delay, because
 * republishing would put it behind the later messages of its key. A crash
 * during that wait gives the message back to the broker, which redelivers it
 * first; its attempt count then restarts from what was last published.
 *
 * Whatever is unacknowledged when the channel or connection goes is
 * redelivered by the broker; after a reconnect this consumer subscribes again.
 */
export class RabbitMqConsumer implements Consumer, ConsumerBackend<RabbitDelivery> {
  private readonly runtime: ConsumerRuntime<RabbitDelivery>;
  private channel: Channel | null = null;
  private tags: string[] = [];
  private stopped = false;
  private subscribing: Promise<void> | null = null;
  private resubscribeTimer: unknown;
  private readonly parked = new Map<RabbitDelivery, unknown>();
  private readonly onConnected = (): void => void this.subscribe();

  constructor(
    readonly queue: string,
    private readonly policy: QueuePolicy,
    handler: MessageHandler,
    options: ConsumeOptions,
    private readonly ctx: RabbitMqConsumerContext,
  ) {
    this.runtime = new ConsumerRuntime(queue, policy, handler, options, ctx.deps, this, ctx.reporter, ctx.closeTimeoutMs);
  }

  get active(): number {
    return this.runtime.active;
  }

  get held(): number {
    return this.runtime.held + this.parked.size;
  }

  oldestHeldEnqueuedAt(): number | null {
    const parked = [...this.parked.keys()].map((d) => d.wire.enqueuedAt);
    const held = this.runtime.oldestHeldEnqueuedAt();
    const all = held === null ? parked : [...parked, held];
    return all.length === 0 ? null : Math.min(...all);
  }

  /** Subscribes now if connected, and again after every reconnect. */
  start(): void {
    this.ctx.consumerConn.on('connected', this.onConnected);
    if (this.ctx.consumerConn.isConnected) void this.subscribe();
    else this.ctx.consumerConn.start();
  }

  async close(options?: { drainTimeoutMs?: number }): Promise<void> {
    await this.runtime.close(options);
    const ch = this.channel;
    this.channel = null;
    // Closing the channel gives back anything still unacknowledged.
    if (ch) await ch.close().catch(() => undefined);
    this.ctx.closed(this);
  }

  private subscribe(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.subscribing ??= this.doSubscribe()
      .catch((err: unknown) => {
        if (this.stopped) return;
        this.ctx.deps.logger.warn('queue consumer could not subscribe; retrying', { queue: this.queue, ...summarizeError(err) });
        this.scheduleResubscribe();
      })
      .finally(() => {
        this.subscribing = null;
      });
    return this.subscribing;
  }

  private async doSubscribe(): Promise<void> {
    const model = await this.ctx.consumerConn.connection();
    await this.ctx.ensureTopology();
    if (this.stopped) return;
    const old = this.channel;
    if (old) await old.close().catch(() => undefined);
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.ctx.deps.logger.warn('queue consumer channel error', { queue: this.queue, ...summarizeError(err) }));
    ch.on('close', () => this.channelClosed(ch));
    this.channel = ch;
    this.tags = [];
    const onMessage = (msg: ConsumeMessage | null): void => this.onMessage(ch, msg);
    if (this.policy.ordering === 'key') {
      // Prefetch 1 per shard consumer: the next message of a shard is not even sent until this one is settled.
      await ch.prefetch(1);
      for (const shard of this.ctx.names.work) this.tags.push((await ch.consume(shard, onMessage, { noAck: false })).consumerTag);
    } else {
      await ch.prefetch(this.runtime.prefetch);
      this.tags.push((await ch.consume(this.ctx.names.work[0]!, onMessage, { noAck: false })).consumerTag);
    }
    if (this.stopped) await this.cancel(ch);
  }

  private scheduleResubscribe(): void {
    if (this.stopped || this.resubscribeTimer !== undefined) return;
    this.resubscribeTimer = this.ctx.deps.timers.setTimeout(() => {
      this.resubscribeTimer = undefined;
      void this.subscribe();
    }, RESUBSCRIBE_DELAY_MS);
  }

  private channelClosed(ch: Channel): void {
    for (const [d, timer] of this.parked) {
      if (d.channel !== ch) continue;
      this.ctx.deps.timers.clearTimeout(timer);
      this.parked.delete(d);
    }
    if (this.channel !== ch) return;
    this.channel = null;
    // With the connection still up the channel alone died (e.g. the broker's
    // consumer timeout): subscribe again. Otherwise `connected` will.
    if (!this.stopped && this.ctx.consumerConn.isConnected) this.scheduleResubscribe();
  }

  private onMessage(ch: Channel, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // Cancelled by the broker (queue deleted or failed over).
      if (!this.stopped) this.scheduleResubscribe();
      return;
    }
    let wire: WireMessage & { bodyError?: unknown };
    try {
      wire = decodeWire(msg.content, msg.properties, this.ctx.cipher);
    } catch (err) {
      void this.quarantine(ch, msg, err);
      return;
    }
    const message: QueueMessage = {
      id: wire.id,
      queue: this.queue,
      key: wire.key,
      body: wire.body,
      headers: wire.headers,
      attempts: wire.attempts + 1,
      firstEnqueuedAt: new Date(wire.firstEnqueuedAt),
      enqueuedAt: new Date(wire.enqueuedAt),
      deadlineAt: this.policy.maxAgeMs === null ? null : new Date(wire.enqueuedAt + this.policy.maxAgeMs),
      history: wire.history,
    };
    const delivery: RabbitDelivery = { channel: ch, msg, wire };
    if (wire.bodyError !== undefined) {
      // A sealed body this process cannot open never will be: dead-letter it.
      const failure = describeFailure(wire.bodyError, message.attempts, new Date(this.ctx.deps.now()));
      void this.settle({ message, handle: delivery }, { kind: 'dead', reason: 'permanent', failure, history: appendHistory(message.history, failure), escalation: null })
        .then(() => this.ctx.reporter.deadLettered({ queue: this.queue, id: message.id, reason: 'permanent', attempts: message.attempts, errorCode: failure.code }))
        .catch((err: unknown) => this.ctx.deps.logger.warn('queue could not dead-letter an unreadable message', { queue: this.queue, id: message.id, ...summarizeError(err) }));
      return;
    }
    this.runtime.accept(message, delivery);
  }

  /** A message without hub metadata: moved to the dead-letter queue untouched, never dropped. */
  private async quarantine(ch: Channel, msg: ConsumeMessage, err: unknown): Promise<void> {
    this.ctx.deps.logger.warn('queue moved a foreign message to the dead letters', { queue: this.queue, bytes: msg.content.length, ...summarizeError(err) });
    try {
      await this.ctx.conn.publish(this.ctx.names.dead, msg.content, { ...msg.properties, persistent: true, headers: { ...(msg.properties.headers ?? {}), 'x-hub-dead-at': this.ctx.deps.now(), 'x-hub-reason': 'permanent' } });
      this.ack(ch, msg);
    } catch (e) {
      this.ctx.deps.logger.warn('queue could not quarantine a foreign message', { queue: this.queue, ...summarizeError(e) });
    }
  }

  async settle(held: Held<RabbitDelivery>, outcome: Outcome): Promise<void> {
    const d = held.handle;
    if (outcome.kind === 'ack') {
      this.ack(d.channel, d.msg);
      return;
    }
    if (outcome.kind === 'retry' && this.policy.ordering === 'key') {
      this.park(held.message, d, outcome.delayMs, outcome.history);
      return;
    }
    const now = this.ctx.deps.now();
    const wire: WireMessage = { ...d.wire, attempts: held.message.attempts, history: outcome.history };
    let target: string;
    if (outcome.kind === 'retry') {
      const level = outcome.delayMs > 0 ? pickRetryLevel(this.ctx.retryLevels, outcome.delayMs, this.ctx.deps.random) : null;
      target = level === null ? this.ctx.names.work[0]! : this.ctx.names.retry.get(level)!;
    } else {
      target = this.ctx.names.dead;
      wire.dead = { at: now, reason: outcome.reason, errorCode: outcome.failure.code };
    }
    const { options } = encodeWire(wire, this.ctx.cipher);
    // The content is forwarded byte for byte (still sealed, if it was): no re-encryption per retry.
    await this.ctx.conn.publish(target, d.msg.content, options);
    this.ack(d.channel, d.msg);
  }

  private park(message: QueueMessage, d: RabbitDelivery, delayMs: number, history: HistoryEntry[]): void {
    const next: QueueMessage = { ...message, attempts: message.attempts + 1, history };
    const timer = this.ctx.deps.timers.setTimeout(() => {
      if (!this.parked.has(d)) return;
      this.parked.delete(d);
      this.runtime.accept(next, { ...d, wire: { ...d.wire, attempts: message.attempts, history } });
    }, delayMs);
    this.parked.set(d, timer);
  }

  private ack(channel: Channel, msg: ConsumeMessage): void {
    try {
      channel.ack(msg);
    } catch {
      // The channel is gone; the broker redelivers the message (at-least-once).
    }
  }

  async release(held: Held<RabbitDelivery>[]): Promise<void> {
    for (const h of held) this.nack(h.handle);
  }

  private nack(d: RabbitDelivery): void {
    try {
      d.channel.nack(d.msg, false, true);
    } catch {
      // Channel already closed: the broker requeued it.
    }
  }

  async stopFetching(): Promise<void> {
    this.stopped = true;
    this.ctx.consumerConn.off('connected', this.onConnected);
    this.ctx.deps.timers.clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = undefined;
    if (this.subscribing) await this.subscribing;
    if (this.channel) await this.cancel(this.channel);
    for (const [d, timer] of this.parked) {
      this.ctx.deps.timers.clearTimeout(timer);
      this.nack(d);
    }
    this.parked.clear();
  }

  private async cancel(ch: Channel): Promise<void> {
    for (const tag of this.tags.splice(0)) await ch.cancel(tag).catch(() => undefined);
  }
}
