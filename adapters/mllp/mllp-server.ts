import { EventEmitter } from 'node:events';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { SecureVersion, TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { MllpClosedError, MllpConfigError, MllpListenError, MllpPeerRejectedError } from './errors';
import type { MllpFrameError, MllpHandlerError, MllpRejectReason } from './errors';
import { MAX_FRAME_BYTES } from './mllp-framer';
import { MllpServerConnection } from './mllp-server-connection';
import type { MllpConnectionContext, MllpDisconnectReason, MllpFrameHandler } from './mllp-server-connection';
import { PeerFilter } from './peer-filter';

export const DEFAULT_HOST = '127.0.0.1';
/** Well under Node-RED's 15 s node close timeout (STYLE.md §3). */
export const CLOSE_TIMEOUT_MS = 5000;

export interface MllpServerTlsOptions {
  key: string | Buffer;
  cert: string | Buffer;
  /** Trust anchors for client certificates. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Ask for a client certificate; the connection is accepted without one. */
  requestCert?: boolean;
  /** Mutual TLS: refuse clients without a certificate signed by `ca`. */
  requireClientCert?: boolean;
  /** Default TLSv1.2. */
  minVersion?: SecureVersion;
}

export interface MllpServerOptions {
  /** Default 127.0.0.1: listening on every interface must be a deliberate choice. */
  host?: string;
  /** 0 picks a free port; read it back from `port` after `listen()`. */
  port: number;
  tls?: MllpServerTlsOptions;
  /** IPs or CIDR ranges allowed to connect; others are destroyed at accept. */
  allowedPeers?: readonly string[];
  /** Default {@link MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
  /** Close connections with no traffic and no frame in progress for this long. 0/undefined: never. */
  idleTimeoutMs?: number;
  /** Refuse connections beyond this many. Undefined: unlimited. */
  maxConnections?: number;
  /** Default {@link CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
}

/** What the server factory is asked to build. */
export interface MllpServerFactoryOptions {
  /** Present for TLS listeners: build a `tls.Server`. */
  tls?: TlsOptions;
  /** Always true: lets a half-closed peer still receive its ACKs. */
  allowHalfOpen: true;
}

export interface MllpServerDeps {
  /** Builds the listening server; tests may wrap or fake it. */
  createServer?: (options: MllpServerFactoryOptions) => Server;
  logger?: Logger;
}

/** Connection identity for events; never any payload. */
export interface MllpConnectionInfo extends MllpConnectionContext {}

export interface MllpDisconnectInfo extends MllpConnectionInfo {
  reason: MllpDisconnectReason;
  /** Socket or handler error code when the connection ended on an error. */
  errorCode?: string;
}

export interface MllpServerEvents {
  listening: [address: AddressInfo];
  connection: [info: MllpConnectionInfo];
  disconnect: [info: MllpDisconnectInfo];
  /** A connection refused at accept time or at the TLS handshake. */
  rejected: [error: MllpPeerRejectedError, peer: { remoteAddress: string; remotePort: number }];
  /** Garbage, oversize, truncated frames and missing CRs on one connection. */
  frameError: [error: MllpFrameError, info: MllpConnectionInfo];
  /**
   * Listener failures and handler rejections. Only emitted when someone
   * listens; otherwise logged, so a missing listener cannot crash the process.
   */
  error: [error: Error];
  close: [];
}

/**
 * MLLP listener over TCP or TLS. Each complete frame goes to the handler; its
 * result is framed and written back on the same connection, in frame order
 * (see {@link MllpServerConnection} for the one-at-a-time rule and what a
 * handler rejection does).
 */
export class MllpServer extends EventEmitter<MllpServerEvents> {
  private readonly server: Server;
  private readonly logger: Logger;
  private readonly peerFilter: PeerFilter | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<MllpServerConnection>();
  /** TLS only: accepted TCP sockets whose handshake has not finished, by peer address and port. */
  private readonly handshaking = new Map<string, Socket>();
  private nextConnectionId = 1;
  private listenPromise: Promise<AddressInfo> | undefined;
  private closePromise: Promise<void> | undefined;

  /**
   * @param options - see {@link MllpServerOptions}
   * @param handler - called for every complete frame; see {@link MllpFrameHandler}
   * @param deps - server factory and logger
   */
  constructor(
    private readonly options: MllpServerOptions,
    private readonly handler: MllpFrameHandler,
    deps: MllpServerDeps = {},
  ) {
    super();
    validate(options);
    this.logger = deps.logger ?? silentLogger;
    this.peerFilter = options.allowedPeers === undefined ? undefined : new PeerFilter(options.allowedPeers);
    const factory = deps.createServer ?? defaultCreateServer;
    this.server = factory({ tls: options.tls ? toTlsOptions(options) : undefined, allowHalfOpen: true });
    this.server.on('connection', (socket: Socket) => this.onAccept(socket));
    if (options.tls) {
      this.server.on('secureConnection', (socket: TLSSocket) => this.startSession(socket));
      this.server.on('tlsClientError', (err: Error, socket: TLSSocket) => this.onTlsClientError(err, socket));
    }
  }

  /** The bound port once listening (useful with port 0). */
  get port(): number | undefined {
    return this.address?.port;
  }

  get address(): AddressInfo | undefined {
    const address = this.server.address();
    return address !== null && typeof address === 'object' ? address : undefined;
  }

  /** Open TCP connections, including TLS connections still in their handshake. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Bind and start accepting. Resolves with the bound address; calling it again returns the same promise. */
  listen(): Promise<AddressInfo> {
    if (this.closePromise) return Promise.reject(new MllpClosedError('MLLP server is closed'));
    this.listenPromise ??= new Promise<AddressInfo>((resolve, reject) => {
      const host = this.options.host ?? DEFAULT_HOST;
      const onError = (err: Error): void => {
        // Allow another listen() later: the port may have been freed by then.
        this.listenPromise = undefined;
        reject(new MllpListenError(`cannot listen on ${host}:${this.options.port}`, { cause: err }));
      };
      this.server.once('error', onError);
      this.server.listen({ host, port: this.options.port }, () => {
        this.server.off('error', onError);
        if (this.closePromise) {
          // close() ran while binding; it found nothing listening to close.
          this.server.close();
          reject(new MllpClosedError('MLLP server was closed while it was starting to listen'));
          return;
        }
        this.server.on('error', (err) => this.emitError(err));
        const address = this.address;
        if (!address) {
          reject(new MllpListenError(`listener on ${host}:${this.options.port} has no TCP address`));
          return;
        }
        this.logger.info('mllp listening', { host: address.address, port: address.port, tls: Boolean(this.options.tls) });
        this.emit('listening', address);
        resolve(address);
      });
    });
    return this.listenPromise;
  }

  /**
   * Stop accepting, end every connection gracefully (a frame in progress may
   * finish and be acknowledged) and destroy what is still open after
   * `closeTimeoutMs`. Safe to call more than once; every call returns the
   * same promise.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    const listenerClosed = new Promise<void>((resolve) => {
      if (!this.server.listening) resolve();
      else this.server.close(() => resolve());
    });
    const socketsClosed = [...this.sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    const closed = Promise.all([listenerClosed, ...socketsClosed]).then(() => undefined);
    for (const socket of this.handshaking.values()) socket.destroy();
    for (const session of this.sessions) session.end('server-close');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS);
    });
    const forced = await Promise.race([closed.then(() => false), timedOut]);
    clearTimeout(timer);
    if (forced) {
      this.logger.warn('mllp close timed out; destroying connections', { connections: this.sockets.size });
      for (const session of this.sessions) session.destroy('server-close');
      for (const socket of this.sockets) socket.destroy();
      await closed;
    }
    this.emit('close');
  }

  private onAccept(socket: Socket): void {
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    if (this.closePromise) {
      socket.destroy();
      return;
    }
    let reason: MllpRejectReason | undefined;
    if (this.peerFilter && !this.peerFilter.allows(socket.remoteAddress)) reason = 'peer-not-allowed';
    else if (this.options.maxConnections !== undefined && this.sockets.size >= this.options.maxConnections) reason = 'max-connections';
    if (reason) {
      socket.destroy();
      this.reject(reason, remoteAddress, remotePort);
      return;
    }
    const key = peerKey(socket);
    this.sockets.add(socket);
    if (this.options.tls) {
      this.handshaking.set(key, socket);
      // The TLS layer reports handshake failures through tlsClientError; this
      // only keeps a reset on the raw socket from becoming an uncaught error.
      socket.on('error', (err) => this.logger.debug('mllp tcp socket error', { remoteAddress, remotePort, ...summarizeError(err) }));
    }
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.handshaking.delete(key);
    });
    socket.setNoDelay(true);
    // Long-lived interface connections often cross firewalls that silently
    // drop idle flows; keep-alive makes such a dead peer visible.
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    if (!this.options.tls) this.startSession(socket);
  }

  private startSession(socket: Socket): void {
    this.handshaking.delete(peerKey(socket));
    if (this.closePromise) {
      socket.destroy();
      return;
    }
    const context: MllpConnectionContext = {
      connectionId: this.nextConnectionId++,
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
    };
    const session = new MllpServerConnection({
      socket,
      context,
      handler: this.handler,
      maxFrameBytes: this.options.maxFrameBytes ?? MAX_FRAME_BYTES,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 0,
      closeTimeoutMs: this.options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS,
      logger: this.logger,
      onFrameError: (err) => this.onFrameError(err, context),
      onHandlerError: (err) => this.onHandlerError(err),
      onClose: (reason, errorCode) => {
        this.sessions.delete(session);
        this.logger.info('mllp connection closed', { connectionId: context.connectionId, reason, errorCode });
        this.emit('disconnect', { ...context, reason, errorCode });
      },
    });
    this.sessions.add(session);
    this.logger.info('mllp connection', peerMeta(context));
    this.emit('connection', { ...context });
  }

  private reject(reason: MllpRejectReason, remoteAddress: string, remotePort: number, cause?: unknown): void {
    const error = new MllpPeerRejectedError(
      `connection from ${remoteAddress}:${remotePort} refused: ${reason}`,
      reason,
      remoteAddress,
      cause === undefined ? undefined : { cause },
    );
    this.logger.warn('mllp connection refused', { reason, remoteAddress, remotePort, ...(cause === undefined ? {} : summarizeError(cause)) });
    this.emit('rejected', error, { remoteAddress, remotePort });
  }

  private onTlsClientError(err: Error, socket: TLSSocket): void {
    const remoteAddress = socket.remoteAddress ?? '';
    const remotePort = socket.remotePort ?? 0;
    // Node reports a connection closed before its handshake as ECONNRESET
    // "socket hang up": TCP health checks, port scans, and the sockets this
    // server refused at accept. Only real TLS failures are rejections.
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      this.logger.debug('mllp connection closed before its TLS handshake', { remoteAddress, remotePort });
      return;
    }
    this.reject('tls-handshake', remoteAddress, remotePort, err);
  }

  private onFrameError(err: MllpFrameError, context: MllpConnectionContext): void {
    this.logger.warn('mllp framing problem', { ...peerMeta(context), kind: err.kind, bytes: err.bytes });
    this.emit('frameError', err, { ...context });
  }

  private onHandlerError(err: MllpHandlerError): void {
    this.logger.error('mllp frame handler failed', { connectionId: err.connectionId, code: err.code });
    this.emitError(err);
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else this.logger.error('mllp server error', summarizeError(err));
  }
}

const KEEPALIVE_INITIAL_DELAY_MS = 60_000;

/** A TLS socket and the TCP socket under it share this; it is unique per listener. */
function peerKey(socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? 0}`;
}

function peerMeta(context: MllpConnectionContext): Record<string, string | number> {
  return { connectionId: context.connectionId, remoteAddress: context.remoteAddress, remotePort: context.remotePort };
}

function defaultCreateServer(options: MllpServerFactoryOptions): Server {
  return options.tls ? createTlsServer({ ...options.tls, allowHalfOpen: true }) : createNetServer({ allowHalfOpen: true });
}

function toTlsOptions(options: MllpServerOptions): TlsOptions {
  const tls = options.tls;
  if (!tls) return {};
  const requestCert = Boolean(tls.requestCert || tls.requireClientCert);
  return {
    key: tls.key,
    cert: tls.cert,
    ca: tls.ca,
    requestCert,
    rejectUnauthorized: Boolean(tls.requireClientCert),
    minVersion: tls.minVersion ?? 'TLSv1.2',
    // A peer that stalls its handshake holds a connection slot; bound it the
    // same way as an idle connection when an idle timeout is configured.
    ...(options.idleTimeoutMs ? { handshakeTimeout: options.idleTimeoutMs } : {}),
  };
}

function validate(options: MllpServerOptions): void {
  const { port, maxConnections, idleTimeoutMs, closeTimeoutMs, maxFrameBytes } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new MllpConfigError(`port must be 0-65535, got ${port}`);
  for (const [name, value] of Object.entries({ maxConnections, idleTimeoutMs, closeTimeoutMs, maxFrameBytes })) {
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new MllpConfigError(`${name} must be a non-negative integer, got ${value}`);
    }
  }
  if (maxFrameBytes === 0) throw new MllpConfigError('maxFrameBytes must be at least 1');
  if (options.tls?.requireClientCert && !options.tls.ca) {
    throw new MllpConfigError('tls.requireClientCert needs tls.ca to verify client certificates');
  }
}
