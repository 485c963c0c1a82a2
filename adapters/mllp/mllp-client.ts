import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { ConnectionOptions, SecureVersion } from 'node:tls';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { DEFAULT_BACKOFF, backoffDelay } from './backoff';
import type { BackoffOptions } from './backoff';
import { MllpClosedError, MllpConfigError, MllpConnectError, MllpTimeoutError } from './errors';
import type { MllpFrameError } from './errors';
import { MAX_FRAME_BYTES, MllpDecoder, frame } from './mllp-framer';

/** Default deadline for one send, from the call to the response. */
export const SEND_TIMEOUT_MS = 30_000;
export const CONNECT_TIMEOUT_MS = 10_000;
export const CLIENT_CLOSE_TIMEOUT_MS = 5000;
const KEEPALIVE_INITIAL_DELAY_MS = 60_000;

export interface MllpClientTlsOptions {
  /** Trust anchors for the server certificate; default: Node's bundled CAs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate and key, for listeners that require mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Name checked against the server certificate; default `host`. */
  servername?: string;
  /** Default true. Turning it off accepts any server: only for lab benches. */
  rejectUnauthorized?: boolean;
  /** Default TLSv1.2. */
  minVersion?: SecureVersion;
}

export interface MllpClientOptions {
  host: string;
  port: number;
  tls?: MllpClientTlsOptions;
  /** Default per-send deadline; see {@link MllpClient.send}. Default {@link SEND_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Default {@link CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Reconnect after a lost connection with exponential backoff (default on); `false` reconnects only when a send needs it. */
  reconnect?: Partial<BackoffOptions> | false;
  /** Largest response accepted. Default {@link MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
  /** Default {@link CLIENT_CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
}

/** What the socket factory is asked to open. */
export interface MllpConnectOptions {
  host: string;
  port: number;
  /** Present for TLS: open a `tls.TLSSocket`. */
  tls?: ConnectionOptions;
}

export interface MllpClientDeps {
  /**
   * Opens the socket and calls `onConnect` once it is usable (after the TLS
   * handshake for TLS), like `net.connect(opts, cb)` and `tls.connect(opts, cb)`.
   */
  connect?: (options: MllpConnectOptions, onConnect: () => void) => Socket;
  logger?: Logger;
  /** Uniform [0, 1) for backoff jitter. */
  random?: () => number;
}

export interface MllpClientEvents {
  connected: [];
  disconnected: [info: { errorCode?: string }];
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** A response frame arrived with no send waiting for it; it was discarded. */
  staleResponse: [info: { bytes: number }];
  frameError: [error: MllpFrameError];
  /** Failed connection attempts. Only emitted when someone listens; otherwise logged. */
  error: [error: Error];
}

interface PendingSend {
  readonly frame: Buffer;
  readonly timeoutMs: number;
  readonly resolve: (response: Buffer) => void;
  readonly reject: (error: Error) => void;
  timer: NodeJS.Timeout | undefined;
  written: boolean;
}

/**
 * MLLP sender over TCP or TLS, one request in flight per connection.
 *
 * MLLP has no request ids on the transport level: the only way to pair a
 * response with its request is order. So exactly one frame is outstanding at
 * a time, later sends queue behind it, and the next frame received answers
 * the outstanding send. Two rules keep that pairing sound:
 * - A frame that arrives while nothing is outstanding is discarded and
 *   reported (`staleResponse`), never kept for the next send.
 * - When a written send times out, the connection is destroyed and opened
 *   again before the next send. The late ACK, if it ever comes, arrives on the
 *   dead connection and cannot be taken for the next message's ACK. Checking
 *   MSA-2 against MSH-10 above this layer remains the end-to-end guard (a
 *   peer that sends two ACKs for one message still shifts the pairing).
 */
export class MllpClient extends EventEmitter<MllpClientEvents> {
  private readonly logger: Logger;
  private readonly random: () => number;
  private readonly openSocket: NonNullable<MllpClientDeps['connect']>;
  private readonly backoff: BackoffOptions | undefined;
  private socket: Socket | undefined;
  private isConnected = false;
  private attempt = 0;
  private lastError: Error | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private readonly queue: PendingSend[] = [];
  private inFlight: PendingSend | undefined;
  private closePromise: Promise<void> | undefined;
  private readonly connectWaiters: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];

  /**
   * @param options - see {@link MllpClientOptions}
   * @param deps - socket factory, logger, randomness
   */
  constructor(
    private readonly options: MllpClientOptions,
    deps: MllpClientDeps = {},
  ) {
    super();
    validate(options);
    this.logger = deps.logger ?? silentLogger;
    this.random = deps.random ?? Math.random;
    this.openSocket = deps.connect ?? defaultConnect;
    this.backoff = options.reconnect === false ? undefined : { ...DEFAULT_BACKOFF, ...options.reconnect };
  }

  /** True while a connection is open and usable. */
  get connected(): boolean {
    return this.isConnected;
  }

  /** Sends queued or in flight. */
  get pending(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }

  /**
   * Open the connection now instead of on the first send. Resolves when
   * connected; rejects with MllpConnectError if this attempt fails (automatic
   * reconnects continue in the background).
   */
  connect(): Promise<void> {
    if (this.closePromise) return Promise.reject(new MllpClosedError('MLLP client is closed'));
    if (this.isConnected) return Promise.resolve();
    const waiter = new Promise<void>((resolve, reject) => this.connectWaiters.push({ resolve, reject }));
    if (!this.socket) {
      this.clearReconnectTimer();
      this.openConnection();
    }
    return waiter;
  }

  /**
   * Frame and send one payload; resolve with the payload of the next frame
   * received on the connection (the ACK).
   *
   * The deadline covers queueing, connecting, writing and waiting. On expiry
   * the promise rejects with MllpTimeoutError (`written` tells whether the
   * peer may have seen the message) and, if the frame was written, the
   * connection is reset. A failed connection attempt rejects the sends waiting
   * for it with MllpConnectError; a connection lost after the write rejects
   * the outstanding send with MllpConnectError (`written: true`). Sends are
   * never resent automatically: whether a duplicate is acceptable is the
   * caller's decision.
   *
   * @param payload - message bytes (string: UTF-8)
   * @param opts - `timeoutMs` overrides the client default for this send
   */
  send(payload: Buffer | string, opts: { timeoutMs?: number } = {}): Promise<Buffer> {
    if (this.closePromise) return Promise.reject(new MllpClosedError('MLLP client is closed'));
    let framed: Buffer;
    try {
      framed = frame(payload);
    } catch (err) {
      return Promise.reject(err);
    }
    const timeoutMs = opts.timeoutMs ?? this.options.timeoutMs ?? SEND_TIMEOUT_MS;
    return new Promise<Buffer>((resolve, reject) => {
      const pending: PendingSend = { frame: framed, timeoutMs, resolve, reject, timer: undefined, written: false };
      pending.timer = setTimeout(() => this.onSendTimeout(pending), timeoutMs);
      this.queue.push(pending);
      if (this.isConnected) this.pump();
      else if (!this.socket && !this.reconnectTimer) this.openConnection();
    });
  }

  /**
   * Reject every pending send with MllpClosedError, end the connection and
   * destroy it if it has not closed after `closeTimeoutMs`. Idempotent.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.clearReconnectTimer();
    this.clearStableTimer();
    const closed = new MllpClosedError('MLLP client closed with the send pending');
    this.failQueued(closed);
    if (this.inFlight) this.settle(this.inFlight, closed);
    this.inFlight = undefined;
    for (const waiter of this.connectWaiters.splice(0)) waiter.reject(closed);
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => socket.destroy(), this.options.closeTimeoutMs ?? CLIENT_CLOSE_TIMEOUT_MS);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (this.isConnected) socket.end();
      else socket.destroy();
    });
  }

  private openConnection(): void {
    const { host, port } = this.options;
    const connectOptions: MllpConnectOptions = { host, port, tls: this.options.tls ? toTlsOptions(this.options.tls) : undefined };
    let socket: Socket;
    try {
      socket = this.openSocket(connectOptions, () => this.onConnected(socket));
    } catch (err) {
      // A factory that throws (bad options) fails this attempt like a refused connection.
      this.lastError = err instanceof Error ? err : new Error(String(err));
      queueMicrotask(() => this.onConnectionEnded(undefined, false));
      return;
    }
    this.socket = socket;
    const decoder = new MllpDecoder(
      { frame: (payload) => this.onFrame(socket, payload), frameError: (err) => this.onFrameError(socket, err) },
      { maxFrameBytes: this.options.maxFrameBytes ?? MAX_FRAME_BYTES },
    );
    socket.setTimeout(this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    socket.once('timeout', () => {
      if (!this.isConnected || this.socket !== socket) socket.destroy(new MllpConnectError(`connect to ${host}:${port} timed out`, false));
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', (err) => {
      if (this.socket === socket) this.lastError = err;
    });
    socket.once('close', () => {
      decoder.end();
      if (this.socket === socket) this.onConnectionEnded(socket, this.isConnected);
    });
    this.logger.debug('mllp connecting', { host, port, attempt: this.attempt });
  }

  private onConnected(socket: Socket): void {
    if (this.socket !== socket) return;
    if (this.closePromise) {
      socket.destroy();
      return;
    }
    this.isConnected = true;
    this.lastError = undefined;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    // Backoff restarts only once a connection proves stable (a response, or
    // staying up for maxDelayMs): a peer that accepts and immediately drops
    // us, e.g. an allow-list rejection, must not be retried at the minimum delay forever.
    if (this.backoff) {
      this.stableTimer = setTimeout(() => (this.attempt = 0), this.backoff.maxDelayMs);
      this.stableTimer.unref();
    }
    this.logger.info('mllp connected', { host: this.options.host, port: this.options.port });
    for (const waiter of this.connectWaiters.splice(0)) waiter.resolve();
    this.emit('connected');
    this.pump();
  }

  private pump(): void {
    if (!this.isConnected || this.inFlight || !this.socket?.writable) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    next.written = true;
    this.socket.write(next.frame);
  }

  private onFrame(socket: Socket, payload: Buffer): void {
    if (this.socket !== socket) return;
    const pending = this.inFlight;
    if (!pending) {
      this.logger.warn('mllp response with no send waiting; discarded', { bytes: payload.length });
      this.emit('staleResponse', { bytes: payload.length });
      return;
    }
    this.inFlight = undefined;
    this.attempt = 0;
    this.settle(pending, undefined, payload);
    this.pump();
  }

  private onFrameError(socket: Socket, err: MllpFrameError): void {
    if (this.socket !== socket) return;
    this.logger.warn('mllp framing problem in response stream', { kind: err.kind, bytes: err.bytes });
    this.emit('frameError', err);
    // An oversize frame was this send's response: it cannot be delivered,
    // and waiting on would pair the send with the following frame.
    if (err.kind === 'oversize' && this.inFlight) {
      const pending = this.inFlight;
      this.inFlight = undefined;
      this.settle(pending, err);
      this.pump();
    }
  }

  private onSendTimeout(pending: PendingSend): void {
    pending.timer = undefined;
    const { host, port } = this.options;
    if (this.inFlight === pending) {
      this.inFlight = undefined;
      this.settle(pending, new MllpTimeoutError(`no response from ${host}:${port} within ${pending.timeoutMs} ms`, pending.timeoutMs, true));
      this.logger.warn('mllp response timeout; resetting connection', { host, port, timeoutMs: pending.timeoutMs });
      this.resetConnection();
      return;
    }
    const index = this.queue.indexOf(pending);
    if (index !== -1) this.queue.splice(index, 1);
    const cause = this.isConnected ? undefined : this.lastError;
    this.settle(
      pending,
      new MllpTimeoutError(
        `send to ${host}:${port} not written within ${pending.timeoutMs} ms (${this.isConnected ? 'queued' : 'not connected'})`,
        pending.timeoutMs,
        false,
        cause ? { cause } : undefined,
      ),
    );
  }

  /**
   * Drop the current connection now. The socket is detached before it is
   * destroyed, so nothing more is written to it and nothing read from it
   * (a late ACK) is looked at.
   */
  private resetConnection(): void {
    const socket = this.socket;
    if (!socket) return;
    this.onConnectionEnded(socket, this.isConnected);
    socket.destroy();
  }

  private onConnectionEnded(socket: Socket | undefined, wasConnected: boolean): void {
    if (socket !== undefined && this.socket !== socket) return;
    this.socket = undefined;
    this.isConnected = false;
    this.clearStableTimer();
    const { host, port } = this.options;
    const cause = this.lastError;
    const errorCode = cause ? errorCodeOf(cause) : undefined;

    if (this.inFlight) {
      const pending = this.inFlight;
      this.inFlight = undefined;
      const lost = new MllpConnectError(`connection to ${host}:${port} lost while awaiting the response`, true, cause ? { cause } : undefined);
      this.settle(pending, lost);
    }
    if (wasConnected) {
      this.logger.info('mllp disconnected', { host, port, errorCode });
      this.emit('disconnected', { errorCode });
    } else {
      const error = new MllpConnectError(`cannot connect to ${host}:${port}`, false, cause ? { cause } : undefined);
      this.attempt += 1;
      this.failQueued(error);
      for (const waiter of this.connectWaiters.splice(0)) waiter.reject(error);
      this.logger.warn('mllp connect failed', { host, port, attempt: this.attempt, ...(cause ? summarizeError(cause) : {}) });
      if (!this.closePromise) this.emitError(error);
    }
    if (this.closePromise) return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.backoff) {
      if (this.queue.length > 0) this.openConnection();
      return;
    }
    const delayMs = backoffDelay(this.attempt, this.backoff, this.random);
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closePromise && !this.socket) this.openConnection();
    }, delayMs);
    // Background reconnects alone must not keep the process alive.
    this.reconnectTimer.unref();
  }

  private failQueued(error: Error): void {
    for (const pending of this.queue.splice(0)) this.settle(pending, error);
  }

  private settle(pending: PendingSend, error: Error | undefined, response?: Buffer): void {
    if (pending.timer) clearTimeout(pending.timer);
    pending.timer = undefined;
    if (error) pending.reject(error);
    else pending.resolve(response ?? Buffer.alloc(0));
  }

  private clearReconnectTimer(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
  }

  private clearStableTimer(): void {
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }
}

function errorCodeOf(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.name;
}

function defaultConnect(options: MllpConnectOptions, onConnect: () => void): Socket {
  return options.tls
    ? tlsConnect({ host: options.host, port: options.port, ...options.tls }, onConnect)
    : netConnect({ host: options.host, port: options.port }, onConnect);
}

function toTlsOptions(tls: MllpClientTlsOptions): ConnectionOptions {
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    servername: tls.servername,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    minVersion: tls.minVersion ?? 'TLSv1.2',
  };
}

function validate(options: MllpClientOptions): void {
  if (!options.host) throw new MllpConfigError('host is required');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new MllpConfigError(`port must be 1-65535, got ${options.port}`);
  }
  const { timeoutMs, connectTimeoutMs, maxFrameBytes, closeTimeoutMs } = options;
  for (const [name, value] of Object.entries({ timeoutMs, connectTimeoutMs, maxFrameBytes, closeTimeoutMs })) {
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw new MllpConfigError(`${name} must be a positive integer, got ${value}`);
    }
  }
}
