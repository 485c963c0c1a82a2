import { EventEmitter } from 'node:events';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { AstmConnection, CLOSE_TIMEOUT_MS, FORWARDED_CONNECTION_EVENTS } from './astm-connection';
import type {
  AstmConnectionDeps,
  ForwardedConnectionEvents,
  AstmConnectionInfo,
  AstmConnectionOptions,
  AstmMessageHandler,
  AstmQueryHandler,
  AstmSendReport,
} from './astm-connection';
import { AstmClosedError, AstmConfigError } from './errors';
import type { AstmMessage } from './message';
import { DUPLICATE_WINDOW_MS, MessageDeduper } from './message-deduper';
import { systemClock, systemTimers } from './timers';

export const DEFAULT_HOST = '127.0.0.1';

export interface AstmServerOptions extends AstmConnectionOptions {
  /** Default 127.0.0.1: listening on every interface must be a deliberate choice. */
  host?: string;
  /** 0 picks a free port; read it back from `port` after `listen()`. */
  port: number;
  /** Peer IP addresses allowed to connect (analyzers, terminal servers); others are dropped at accept. */
  allowedPeers?: readonly string[];
  /** Refuse connections beyond this many. */
  maxConnections?: number;
  /** Answers host queries on every connection; see AstmQueryHandler. */
  onQuery?: AstmQueryHandler;
}

export interface AstmServerDeps extends AstmConnectionDeps {
  createServer?: () => Server;
}

export interface AstmServerEvents extends ForwardedConnectionEvents {
  listening: [address: AddressInfo];
  connection: [info: AstmConnectionInfo];
  disconnect: [info: AstmConnectionInfo, reason: 'closed' | 'disconnected'];
  rejected: [peer: { remoteAddress: string; reason: 'peer-not-allowed' | 'max-connections' }];
  /** Listener failures. Only emitted when someone listens; otherwise logged. */
  error: [error: Error];
}


function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/**
 * ASTM listener: analyzers (or terminal servers in client mode) connect to
 * the hub. Each connection is an {@link AstmConnection} in the host role;
 * every complete message of every connection goes to the one handler, with
 * the connection's identity. Byte-identical re-sends are caught across
 * connections (one shared duplicate window).
 */
export class AstmServer extends EventEmitter<AstmServerEvents> {
  private readonly server: Server;
  private readonly logger: Logger;
  private readonly deps: AstmConnectionDeps;
  private readonly active = new Map<number, AstmConnection>();
  private readonly allowed: Set<string> | undefined;
  private listenPromise: Promise<AddressInfo> | undefined;
  private closePromise: Promise<void> | undefined;

  /**
   * @param options - listener and per-connection options
   * @param handler - receives every complete message; see AstmMessageHandler
   * @param deps - server factory, timers, clock, logger
   */
  constructor(
    private readonly options: AstmServerOptions,
    private readonly handler: AstmMessageHandler,
    deps: AstmServerDeps = {},
  ) {
    super();
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new AstmConfigError('port must be 0-65535', 'port');
    this.logger = deps.logger ?? silentLogger;
    const clock = deps.clock ?? systemClock;
    this.deps = {
      timers: deps.timers ?? systemTimers,
      clock,
      logger: this.logger,
      deduper: deps.deduper ?? new MessageDeduper(options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS, clock),
    };
    this.allowed = options.allowedPeers ? new Set(options.allowedPeers.map(normalizeIp)) : undefined;
    this.server = (deps.createServer ?? (() => createNetServer()))();
    this.server.on('connection', (socket: Socket) => this.onAccept(socket));
  }

  /** The bound port once listening. */
  get port(): number | undefined {
    const a = this.server.address();
    return a !== null && typeof a === 'object' ? a.port : undefined;
  }

  /** Open connections by id. */
  get connections(): ReadonlyMap<number, AstmConnection> {
    return this.active;
  }

  /** Bind and accept. Calling it again returns the same promise. */
  listen(): Promise<AddressInfo> {
    if (this.closePromise) return Promise.reject(new AstmClosedError('ASTM server is closed'));
    this.listenPromise ??= new Promise<AddressInfo>((resolve, reject) => {
      const host = this.options.host ?? DEFAULT_HOST;
      const onError = (err: Error): void => {
        this.listenPromise = undefined;
        reject(new AstmClosedError(`cannot listen on ${host}:${this.options.port}`, undefined, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen({ host, port: this.options.port }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.emitError(err));
        const address = this.server.address() as AddressInfo;
        this.logger.info('astm listening', { host: address.address, port: address.port });
        this.emit('listening', address);
        resolve(address);
      });
    });
    return this.listenPromise;
  }

  /**
   * Send E1394 messages to one connected instrument (orders, query answers).
   *
   * @param connectionId - from the handler's `message.connection.id` or the `connection` event
   * @param messages - E1394 texts or messages
   */
  send(connectionId: number, messages: readonly (string | AstmMessage)[]): Promise<AstmSendReport> {
    const connection = this.active.get(connectionId);
    if (!connection) return Promise.reject(new AstmClosedError(`ASTM connection ${connectionId} is not open`));
    return connection.send(messages);
  }

  /**
   * Stop accepting and close every connection (each bounded by
   * `closeTimeoutMs`). Safe to call more than once.
   */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      const listener = new Promise<void>((resolve) => {
        if (!this.server.listening) resolve();
        else this.server.close(() => resolve());
      });
      await Promise.all([...this.active.values()].map((c) => c.close()));
      await listener;
    })();
    return this.closePromise;
  }

  private onAccept(socket: Socket): void {
    const remoteAddress = normalizeIp(socket.remoteAddress ?? '');
    if (this.closePromise) {
      socket.destroy();
      return;
    }
    if (this.allowed && !this.allowed.has(remoteAddress)) {
      socket.destroy();
      this.logger.warn('astm peer not allowed', { peer: remoteAddress });
      this.emit('rejected', { remoteAddress, reason: 'peer-not-allowed' });
      return;
    }
    if (this.options.maxConnections !== undefined && this.active.size >= this.options.maxConnections) {
      socket.destroy();
      this.emit('rejected', { remoteAddress, reason: 'max-connections' });
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    const connection = new AstmConnection(socket, this.handler, { ...this.options, role: this.options.role ?? 'host', closeTimeoutMs: this.options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS }, this.deps);
    this.active.set(connection.info.id, connection);
    for (const event of FORWARDED_CONNECTION_EVENTS) {
      connection.on(event, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args));
    }
    connection.on('close', (reason, info) => {
      this.active.delete(info.id);
      this.logger.info('astm connection closed', { connection: info.id, reason });
      this.emit('disconnect', info, reason);
    });
    this.logger.info('astm connection', { connection: connection.info.id, peer: remoteAddress, port: socket.remotePort });
    this.emit('connection', connection.info);
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.logger.error('astm server error', summarizeError(err));
  }
}
