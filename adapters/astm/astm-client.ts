import { EventEmitter } from 'node:events';
import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { AstmConnection } from './astm-connection';
import type {
  AstmConnectionDeps,
  AstmConnectionEvents,
  AstmConnectionInfo,
  AstmConnectionOptions,
  AstmMessageHandler,
  AstmQueryHandler,
  AstmSendReport,
} from './astm-connection';
import { AstmClosedError, AstmConfigError } from './errors';
import type { AstmMessage } from './message';
import { DUPLICATE_WINDOW_MS, MessageDeduper } from './message-deduper';
import { DEFAULT_RECONNECT, reconnectDelay } from './reconnect-backoff';
import type { ReconnectOptions } from './reconnect-backoff';
import { systemClock, systemTimers } from './timers';
import type { TimerHandle, Timers } from './timers';

export const CONNECT_TIMEOUT_MS = 10_000;

export interface AstmClientOptions extends AstmConnectionOptions {
  /** The terminal server (or instrument) to connect to. */
  host: string;
  port: number;
  /** How long a send waits for a connection. Default {@link CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Reconnect with backoff after a failed or lost connection (default on). */
  reconnect?: Partial<ReconnectOptions> | false;
  onQuery?: AstmQueryHandler;
}

export interface AstmClientDeps extends AstmConnectionDeps {
  /** Opens the socket and calls `onConnect` once connected, like `net.connect(opts, cb)`. */
  connect?: (options: { host: string; port: number }, onConnect: () => void) => Socket;
  /** Uniform [0, 1) for backoff jitter. */
  random?: () => number;
}

type Forwarded = Omit<AstmConnectionEvents, 'close'>;

export interface AstmClientEvents extends Forwarded {
  connected: [info: AstmConnectionInfo];
  disconnected: [info: { errorCode?: string }];
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** Failed connection attempts. Only emitted when someone listens; otherwise logged. */
  error: [error: Error];
}

const FORWARDED: (keyof Forwarded)[] = [
  'sessionStart',
  'sessionEnd',
  'delivered',
  'duplicate',
  'incomplete',
  'parseError',
  'frameError',
  'handlerError',
  'queryError',
  'contention',
  'oversizeFrame',
];

/**
 * ASTM over an outbound TCP connection: the hub connects to a terminal
 * server's port that carries an analyzer's serial line, and keeps that
 * connection up (reconnecting with backoff), because the analyzer may send
 * at any time. The hub is still the E1381 host; direction of the TCP
 * connection and the E1381 roles are independent.
 */
export class AstmClient extends EventEmitter<AstmClientEvents> {
  private readonly logger: Logger;
  private readonly timers: Timers;
  private readonly connDeps: AstmConnectionDeps;
  private readonly openSocket: NonNullable<AstmClientDeps['connect']>;
  private readonly random: () => number;
  private readonly backoff: ReconnectOptions | undefined;
  private connection: AstmConnection | undefined;
  private socket: Socket | undefined;
  private attempt = 0;
  private started = false;
  private closed = false;
  private retryTimer: TimerHandle | undefined;
  private readonly waiters = new Set<{ resolve: (c: AstmConnection) => void; reject: (e: Error) => void }>();
  private closePromise: Promise<void> | undefined;

  /**
   * @param options - peer address, reconnect policy, per-connection options
   * @param handler - receives every complete message
   * @param deps - socket factory, timers, clock, logger
   */
  constructor(
    private readonly options: AstmClientOptions,
    private readonly handler: AstmMessageHandler,
    deps: AstmClientDeps = {},
  ) {
    super();
    if (!options.host) throw new AstmConfigError('host is required', 'host');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new AstmConfigError('port must be 1-65535', 'port');
    this.logger = deps.logger ?? silentLogger;
    this.timers = deps.timers ?? systemTimers;
    const clock = deps.clock ?? systemClock;
    this.connDeps = { timers: this.timers, clock, logger: this.logger, deduper: deps.deduper ?? new MessageDeduper(options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS, clock) };
    this.openSocket = deps.connect ?? ((o, cb) => netConnect(o, cb));
    this.random = deps.random ?? Math.random;
    this.backoff = options.reconnect === false ? undefined : { ...DEFAULT_RECONNECT, ...options.reconnect };
  }

  get connected(): boolean {
    return this.connection?.open ?? false;
  }

  /** Connect now and stay connected until close(). Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.dial();
  }

  /**
   * Send E1394 messages to the instrument; starts the client if needed and
   * waits up to `connectTimeoutMs` for a connection.
   *
   * @param messages - E1394 texts or messages
   */
  async send(messages: readonly (string | AstmMessage)[]): Promise<AstmSendReport> {
    this.start();
    const connection = await this.whenConnected();
    return connection.send(messages);
  }

  /** Stop reconnecting and close the connection. Safe to call more than once. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closed = true;
      if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
      for (const w of this.waiters) w.reject(new AstmClosedError('ASTM client closed'));
      this.waiters.clear();
      if (this.connection) await this.connection.close();
      else this.socket?.destroy();
    })();
    return this.closePromise;
  }

  private whenConnected(): Promise<AstmConnection> {
    if (this.connection?.open) return Promise.resolve(this.connection);
    if (this.closed) return Promise.reject(new AstmClosedError('ASTM client closed'));
    return new Promise<AstmConnection>((resolve, reject) => {
      const waiter = {
        resolve: (c: AstmConnection) => {
          this.timers.clearTimeout(timer);
          resolve(c);
        },
        reject: (e: Error) => {
          this.timers.clearTimeout(timer);
          reject(e);
        },
      };
      const timer = this.timers.setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new AstmClosedError(`no connection to ${this.options.host}:${this.options.port} within ${this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS} ms`));
      }, this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
      this.waiters.add(waiter);
    });
  }

  private dial(): void {
    if (this.closed) return;
    const socket = this.openSocket({ host: this.options.host, port: this.options.port }, () => this.onConnected(socket));
    this.socket = socket;
    socket.once('error', (err) => {
      if (this.connection) return; // the connection logs its own stream errors
      this.logger.warn('astm connect failed', { host: this.options.host, port: this.options.port, ...summarizeError(err) });
      if (this.listenerCount('error') > 0) this.emit('error', new AstmClosedError(`cannot connect to ${this.options.host}:${this.options.port}`, undefined, { cause: err }));
    });
    socket.once('close', () => {
      if (!this.connection) this.scheduleRetry();
    });
  }

  private onConnected(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.attempt = 0;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const connection = new AstmConnection(socket, this.handler, { ...this.options, role: this.options.role ?? 'host' }, this.connDeps);
    this.connection = connection;
    for (const event of FORWARDED) {
      connection.on(event, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args));
    }
    connection.on('close', () => {
      this.connection = undefined;
      this.emit('disconnected', {});
      this.scheduleRetry();
    });
    this.logger.info('astm connected', { host: this.options.host, port: this.options.port, connection: connection.info.id });
    this.emit('connected', connection.info);
    for (const w of this.waiters) w.resolve(connection);
    this.waiters.clear();
  }

  private scheduleRetry(): void {
    if (this.closed || !this.backoff) return;
    const delayMs = reconnectDelay(this.attempt++, this.backoff, this.random);
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.dial();
    }, delayMs);
  }
}
