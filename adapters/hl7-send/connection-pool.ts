import { EventEmitter } from 'node:events';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { MllpClient, MllpClosedError, MllpTimeoutError, type MllpClientDeps, type MllpClientOptions } from '../mllp';

/** Most connections one endpoint may open: receivers rarely accept more, and each holds a socket. */
export const MAX_CONNECTIONS = 32;

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected';

/** Connection state of the whole pool, for status displays. No payload data. */
export interface PoolState {
  /** `connected` while at least one connection is up; `disconnected` once one failed and none is up. */
  state: ConnectionState;
  connected: number;
  connections: number;
  /** Socket error code (ECONNREFUSED, CERT_…) or error class of the last failure. */
  errorCode?: string;
}

export interface ConnectionPoolOptions {
  /** Number of connections, 1..{@link MAX_CONNECTIONS}. */
  connections: number;
  client: MllpClientOptions;
  /**
   * Errors thrown by a job's `interpret` after which the connection must not
   * be used again (a mismatched ACK): it is replaced by a fresh one before
   * the next job runs on that slot.
   */
  resetOn: (err: unknown) => boolean;
}

export interface ConnectionPoolDeps {
  createClient?: (options: MllpClientOptions, deps: MllpClientDeps) => MllpClient;
  clientDeps?: MllpClientDeps;
  logger?: Logger;
  now?: () => number;
}

export interface PoolEvents {
  state: [state: PoolState];
}

interface Job {
  readonly bytes: Buffer;
  readonly key: string | undefined;
  readonly timeoutMs: number;
  readonly deadline: number;
  readonly run: (response: Buffer, connection: number) => void;
  readonly fail: (error: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  readonly index: number;
  client: MllpClient;
  detach: () => void;
  job: Job | undefined;
  connected: boolean;
  failed: boolean;
  errorCode: string | undefined;
}

/**
 * N MLLP connections to one receiver, each with one message in flight
 * (MLLP pairs a response with its request by order alone, see MllpClient).
 *
 * Jobs wait here, not in the clients, so a connection that must be dropped
 * (after a mismatched ACK) takes no queued message down with it, and so jobs
 * with the same ordering key can be held back: at most one job per key is in
 * flight, and jobs of a key start in submission order. Jobs without a key
 * go to whichever connection is free, so with more than one connection their
 * order is not kept.
 */
export class ConnectionPool extends EventEmitter<PoolEvents> {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly activeKeys = new Set<string>();
  private readonly retiring = new Set<Promise<void>>();
  private readonly createClient: NonNullable<ConnectionPoolDeps['createClient']>;
  private readonly logger: Logger;
  private readonly now: () => number;
  private active = false;
  private started = false;
  private nextSlot = 0;
  private lastState: PoolState;
  private closePromise: Promise<void> | undefined;

  /**
   * @param options - connection count, client options, reset rule
   * @param deps - client factory (and the clients' own deps), logger, clock
   */
  constructor(
    private readonly options: ConnectionPoolOptions,
    private readonly deps: ConnectionPoolDeps = {},
  ) {
    super();
    this.createClient = deps.createClient ?? ((o, d) => new MllpClient(o, d));
    this.logger = deps.logger ?? silentLogger;
    this.now = deps.now ?? Date.now;
    for (let index = 0; index < options.connections; index++) {
      const slot: Slot = { index, client: undefined as unknown as MllpClient, detach: () => undefined, job: undefined, connected: false, failed: false, errorCode: undefined };
      this.attachClient(slot);
      this.slots.push(slot);
    }
    this.lastState = this.computeState();
  }

  get state(): PoolState {
    return { ...this.lastState };
  }

  /** Jobs waiting for a connection plus jobs in flight. */
  get pending(): number {
    return this.queue.length + this.slots.filter((s) => s.job).length;
  }

  /** Open every connection now instead of on first use. Idempotent. */
  start(): void {
    if (this.started || this.closePromise) return;
    this.started = true;
    this.active = true;
    this.publishState();
    for (const slot of this.slots) slot.client.connect().catch(() => undefined);
  }

  /**
   * Send `bytes` on the next free connection and hand the response to
   * `interpret`, still holding the connection: whatever `interpret` throws
   * rejects the returned promise, and if `resetOn` says so the connection is
   * replaced before it carries another message.
   *
   * @param bytes - the payload (framed by the client)
   * @param opts - `key` for ordering, `timeoutMs` from now until the response (queueing included)
   * @param interpret - turns the response into the result
   */
  submit<T>(bytes: Buffer, opts: { key?: string; timeoutMs: number }, interpret: (response: Buffer, connection: number) => T): Promise<T> {
    if (this.closePromise) return Promise.reject(new MllpClosedError('HL7 sender is closed'));
    this.active = true;
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        bytes,
        key: opts.key,
        timeoutMs: opts.timeoutMs,
        deadline: this.now() + opts.timeoutMs,
        run: (response, connection) => resolve(interpret(response, connection)),
        fail: reject,
        timer: undefined,
      };
      job.timer = setTimeout(() => this.onQueueTimeout(job), opts.timeoutMs);
      this.queue.push(job);
      this.pump();
    });
  }

  /** Reject waiting jobs, close every connection (bounded by the clients' close timeout). Idempotent. */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    const closed = new MllpClosedError('HL7 sender closed with the message still queued');
    for (const job of this.queue.splice(0)) {
      if (job.timer) clearTimeout(job.timer);
      job.fail(closed);
    }
    await Promise.all([...this.slots.map((s) => s.client.close()), ...this.retiring]);
    for (const slot of this.slots) slot.detach();
  }

  private pump(): void {
    if (this.closePromise) return;
    for (let i = 0; i < this.queue.length; ) {
      const job = this.queue[i]!;
      if (job.key !== undefined && this.activeKeys.has(job.key)) {
        i++;
        continue;
      }
      const slot = this.idleSlot();
      if (!slot) return;
      this.queue.splice(i, 1);
      this.run(slot, job);
    }
  }

  /** A free connection, preferring open ones, rotating so load spreads. */
  private idleSlot(): Slot | undefined {
    const n = this.slots.length;
    let fallback: Slot | undefined;
    for (let k = 0; k < n; k++) {
      const slot = this.slots[(this.nextSlot + k) % n]!;
      if (slot.job) continue;
      if (slot.connected) {
        this.nextSlot = (slot.index + 1) % n;
        return slot;
      }
      fallback ??= slot;
    }
    if (fallback) this.nextSlot = (fallback.index + 1) % n;
    return fallback;
  }

  private run(slot: Slot, job: Job): void {
    if (job.timer) clearTimeout(job.timer);
    job.timer = undefined;
    slot.job = job;
    if (job.key !== undefined) this.activeKeys.add(job.key);
    const remaining = Math.max(1, job.deadline - this.now());
    slot.client.send(job.bytes, { timeoutMs: remaining }).then(
      (response) => {
        try {
          job.run(response, slot.index);
        } catch (err) {
          if (this.options.resetOn(err)) this.replaceClient(slot);
          job.fail(err);
        }
        this.release(slot, job);
      },
      (err: unknown) => {
        job.fail(err);
        this.release(slot, job);
      },
    );
  }

  private release(slot: Slot, job: Job): void {
    slot.job = undefined;
    if (job.key !== undefined) this.activeKeys.delete(job.key);
    this.pump();
  }

  private onQueueTimeout(job: Job): void {
    job.timer = undefined;
    const index = this.queue.indexOf(job);
    if (index === -1) return;
    this.queue.splice(index, 1);
    const { host, port } = this.options.client;
    job.fail(
      new MllpTimeoutError(
        `message to ${host}:${port} not sent within ${job.timeoutMs} ms (all ${this.slots.length} connection(s) busy)`,
        job.timeoutMs,
        false,
      ),
    );
  }

  /**
   * Drop a connection whose response pairing can no longer be trusted and
   * put a fresh client in its place. The old client is closed in the
   * background; whatever it still receives is discarded by it.
   */
  private replaceClient(slot: Slot): void {
    const old = slot.client;
    slot.detach();
    const retiring = old.close().catch(() => undefined);
    this.retiring.add(retiring);
    void retiring.then(() => this.retiring.delete(retiring));
    this.logger.warn('hl7 send: connection reset to realign ACK pairing', { connection: slot.index });
    slot.connected = false;
    this.attachClient(slot);
    if (this.started) slot.client.connect().catch(() => undefined);
    this.publishState();
  }

  private attachClient(slot: Slot): void {
    const client = this.createClient(this.options.client, { logger: this.logger, ...this.deps.clientDeps });
    const onConnected = (): void => {
      slot.connected = true;
      slot.failed = false;
      slot.errorCode = undefined;
      this.publishState();
      this.pump();
    };
    const onDisconnected = (info: { errorCode?: string }): void => {
      slot.connected = false;
      slot.failed = true;
      slot.errorCode = info.errorCode;
      this.publishState();
    };
    const onError = (err: Error): void => {
      slot.failed = true;
      slot.errorCode = errorCodeOf(err);
      this.publishState();
    };
    client.on('connected', onConnected);
    client.on('disconnected', onDisconnected);
    client.on('error', onError);
    slot.client = client;
    slot.detach = () => {
      client.off('connected', onConnected);
      client.off('disconnected', onDisconnected);
      client.off('error', onError);
    };
  }

  private computeState(): PoolState {
    const connected = this.slots.filter((s) => s.connected).length;
    const connections = this.slots.length;
    if (connected > 0) return { state: 'connected', connected, connections };
    const failed = this.slots.find((s) => s.failed);
    if (failed) return { state: 'disconnected', connected, connections, ...(failed.errorCode ? { errorCode: failed.errorCode } : {}) };
    return { state: this.active ? 'connecting' : 'idle', connected, connections };
  }

  private publishState(): void {
    if (this.closePromise) return;
    const next = this.computeState();
    const prev = this.lastState;
    if (prev.state === next.state && prev.connected === next.connected && prev.errorCode === next.errorCode) return;
    this.lastState = next;
    this.emit('state', { ...next });
  }
}

/**
 * The innermost socket code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT) or the
 * error class. Duck-typed: socket errors may come from another realm (jest's
 * VM context), where `instanceof Error` is false.
 */
function errorCodeOf(err: Error): string {
  let at: { code?: unknown; name?: unknown; cause?: unknown } = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = at.cause;
    if (cause === null || typeof cause !== 'object') break;
    at = cause as typeof at;
  }
  if (typeof at.code === 'string') return at.code;
  return typeof at.name === 'string' ? at.name : 'Error';
}
