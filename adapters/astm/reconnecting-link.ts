import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { LogMeta, Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { AstmConnection, FORWARDED_CONNECTION_EVENTS } from './astm-connection';
import type {
  AstmConnectionDeps,
  ForwardedConnectionEvents,
  AstmConnectionInfo,
  AstmConnectionOptions,
  AstmMessageHandler,
  AstmQueryHandler,
  AstmSendReport,
} from './astm-connection';
import { AstmClosedError } from './errors';
import type { AstmMessage } from './message';
import { DUPLICATE_WINDOW_MS, MessageDeduper } from './message-deduper';
import { DEFAULT_RECONNECT, reconnectDelay } from './reconnect-backoff';
import type { ReconnectOptions } from './reconnect-backoff';
import { systemClock, systemTimers } from './timers';
import type { TimerHandle, Timers } from './timers';

export const CONNECT_TIMEOUT_MS = 10_000;

export interface ReconnectingAstmLinkOptions extends AstmConnectionOptions {
  /** How long a send waits for the link (socket connected, port open). Default {@link CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Redial with backoff after a failed or lost link (default on). */
  reconnect?: Partial<ReconnectOptions> | false;
  onQuery?: AstmQueryHandler;
}

export interface ReconnectingAstmLinkDeps extends AstmConnectionDeps {
  /** Uniform [0, 1) for backoff jitter. */
  random?: () => number;
}

/** One event set for every transport, so the instrument link treats them alike. */
export interface ReconnectingAstmLinkEvents extends ForwardedConnectionEvents {
  connected: [info: AstmConnectionInfo];
  disconnected: [info: { errorCode?: string }];
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** Failed dials (connect or open). Only emitted when someone listens; otherwise logged. */
  error: [error: Error];
}


/** What a transport does around the shared connection lifecycle. */
export interface LinkHooks {
  /** Logs the new connection; called before `connected` is emitted. */
  opened(connection: AstmConnection): void;
  /** Frees the transport after the connection closed; called before `disconnected` is emitted. */
  lost?(reason: 'closed' | 'disconnected', connection: AstmConnection): void;
}

/**
 * A hub-initiated ASTM link that stays up until close(): the analyzer may
 * send at any time, so a failed or lost dial is retried with backoff, and
 * sends wait (bounded) for the link. Transports (outbound TCP, a serial
 * device) supply only how to dial and how to tear down; the hub is the
 * E1381 host on all of them unless `role` says otherwise.
 */
export abstract class ReconnectingAstmLink extends EventEmitter<ReconnectingAstmLinkEvents> {
  protected readonly logger: Logger;
  protected readonly timers: Timers;
  private readonly connDeps: AstmConnectionDeps;
  private readonly random: () => number;
  private readonly backoff: ReconnectOptions | undefined;
  protected connection: AstmConnection | undefined;
  private attempt = 0;
  private started = false;
  private closed = false;
  private retryTimer: TimerHandle | undefined;
  private readonly waiters = new Set<{ resolve: (c: AstmConnection) => void; reject: (e: Error) => void }>();
  private closePromise: Promise<void> | undefined;

  /**
   * @param linkOptions - reconnect policy and per-connection options
   * @param handler - receives every complete message
   * @param deps - timers, clock, logger, jitter source
   */
  protected constructor(
    private readonly linkOptions: ReconnectingAstmLinkOptions,
    private readonly handler: AstmMessageHandler,
    deps: ReconnectingAstmLinkDeps,
  ) {
    super();
    this.logger = deps.logger ?? silentLogger;
    this.timers = deps.timers ?? systemTimers;
    const clock = deps.clock ?? systemClock;
    this.connDeps = { timers: this.timers, clock, logger: this.logger, deduper: deps.deduper ?? new MessageDeduper(linkOptions.duplicateWindowMs ?? DUPLICATE_WINDOW_MS, clock) };
    this.random = deps.random ?? Math.random;
    this.backoff = linkOptions.reconnect === false ? undefined : { ...DEFAULT_RECONNECT, ...linkOptions.reconnect };
  }

  get connected(): boolean {
    return this.connection?.open ?? false;
  }

  /** Dial now and stay connected until close(). Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.dial();
  }

  /**
   * Send E1394 messages to the instrument; starts the link if needed and
   * waits up to `connectTimeoutMs` for it.
   *
   * @param messages - E1394 texts or messages
   */
  async send(messages: readonly (string | AstmMessage)[]): Promise<AstmSendReport> {
    this.start();
    const connection = await this.whenConnected();
    return connection.send(messages);
  }

  /** Stop redialling and tear the link down. Safe to call more than once. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closed = true;
      if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
      for (const w of this.waiters) w.reject(new AstmClosedError(this.closedMessage));
      this.waiters.clear();
      await this.teardown(this.connection);
    })();
    return this.closePromise;
  }

  /** Error text for sends refused because close() was called. */
  protected abstract readonly closedMessage: string;

  /** Error text for a send that found no link within `waitMs`; names the peer, never payload. */
  protected abstract notConnectedMessage(waitMs: number): string;

  /** Start one attempt; on success call {@link attach}, on failure {@link dialFailed} and/or {@link scheduleRetry}. Only called while not closed. */
  protected abstract dialOnce(): void;

  /** Release the transport on close(); `connection` is the live one, if any. */
  protected abstract teardown(connection: AstmConnection | undefined): Promise<void>;

  protected get isClosed(): boolean {
    return this.closed;
  }

  /** Run an AstmConnection over a freshly dialled stream and announce it. */
  protected attach(stream: Duplex, hooks: LinkHooks): void {
    this.attempt = 0;
    const connection = new AstmConnection(stream, this.handler, { ...this.linkOptions, role: this.linkOptions.role ?? 'host' }, this.connDeps);
    this.connection = connection;
    for (const event of FORWARDED_CONNECTION_EVENTS) {
      connection.on(event, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args));
    }
    connection.on('close', (reason) => {
      this.connection = undefined;
      hooks.lost?.(reason, connection);
      this.emit('disconnected', {});
      this.scheduleRetry();
    });
    hooks.opened(connection);
    this.emit('connected', connection.info);
    for (const w of this.waiters) w.resolve(connection);
    this.waiters.clear();
  }

  /** Report a failed dial: logged always, emitted as `error` only to listeners (an unhandled `error` would crash the process). */
  protected dialFailed(logMessage: string, logFields: LogMeta, errorMessage: string, cause: Error): void {
    this.logger.warn(logMessage, logFields);
    if (this.listenerCount('error') > 0) this.emit('error', new AstmClosedError(errorMessage, undefined, { cause }));
  }

  protected scheduleRetry(): void {
    if (this.closed || !this.backoff) return;
    const delayMs = reconnectDelay(this.attempt++, this.backoff, this.random);
    this.emit('reconnecting', { attempt: this.attempt, delayMs });
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = undefined;
      this.dial();
    }, delayMs);
  }

  private dial(): void {
    if (this.closed) return;
    this.dialOnce();
  }

  private whenConnected(): Promise<AstmConnection> {
    if (this.connection?.open) return Promise.resolve(this.connection);
    if (this.closed) return Promise.reject(new AstmClosedError(this.closedMessage));
    const waitMs = this.linkOptions.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
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
        reject(new AstmClosedError(this.notConnectedMessage(waitMs)));
      }, waitMs);
      this.waiters.add(waiter);
    });
  }
}
