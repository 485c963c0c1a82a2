import { connect as netConnect } from 'node:net';
import type { Socket } from 'node:net';
import { summarizeError } from '../shared/redact';
import type { AstmConnection, AstmMessageHandler } from './astm-connection';
import { AstmConfigError } from './errors';
import { CONNECT_TIMEOUT_MS, ReconnectingAstmLink } from './reconnecting-link';
import type { ReconnectingAstmLinkDeps, ReconnectingAstmLinkEvents, ReconnectingAstmLinkOptions } from './reconnecting-link';

// Kept here too: CONNECT_TIMEOUT_MS was first exported by this module.
export { CONNECT_TIMEOUT_MS };

export interface AstmClientOptions extends ReconnectingAstmLinkOptions {
  /** The terminal server (or instrument) to connect to. */
  host: string;
  port: number;
}

export interface AstmClientDeps extends ReconnectingAstmLinkDeps {
  /** Opens the socket and calls `onConnect` once connected, like `net.connect(opts, cb)`. */
  connect?: (options: { host: string; port: number }, onConnect: () => void) => Socket;
}

export type AstmClientEvents = ReconnectingAstmLinkEvents;

/**
 * ASTM over an outbound TCP connection: the hub connects to a terminal
 * server's port that carries an analyzer's serial line, and keeps that
 * connection up (reconnecting with backoff), because the analyzer may send
 * at any time. The hub is still the E1381 host; direction of the TCP
 * connection and the E1381 roles are independent.
 */
export class AstmClient extends ReconnectingAstmLink {
  protected readonly closedMessage = 'ASTM client closed';
  private readonly openSocket: NonNullable<AstmClientDeps['connect']>;
  private socket: Socket | undefined;

  /**
   * @param options - peer address, reconnect policy, per-connection options
   * @param handler - receives every complete message
   * @param deps - socket factory, timers, clock, logger
   */
  constructor(
    private readonly options: AstmClientOptions,
    handler: AstmMessageHandler,
    deps: AstmClientDeps = {},
  ) {
    super(validAddress(options), handler, deps);
    this.openSocket = deps.connect ?? ((o, cb) => netConnect(o, cb));
  }

  protected notConnectedMessage(waitMs: number): string {
    return `no connection to ${this.options.host}:${this.options.port} within ${waitMs} ms`;
  }

  protected async teardown(connection: AstmConnection | undefined): Promise<void> {
    if (connection) await connection.close();
    else this.socket?.destroy();
  }

  protected dialOnce(): void {
    const socket = this.openSocket({ host: this.options.host, port: this.options.port }, () => this.onConnected(socket));
    this.socket = socket;
    socket.once('error', (err) => {
      if (this.connection) return; // the connection logs its own stream errors
      this.dialFailed('astm connect failed', { host: this.options.host, port: this.options.port, ...summarizeError(err) }, `cannot connect to ${this.options.host}:${this.options.port}`, err);
    });
    socket.once('close', () => {
      if (!this.connection) this.scheduleRetry();
    });
  }

  private onConnected(socket: Socket): void {
    if (this.isClosed) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000);
    this.attach(socket, {
      opened: (connection) => this.logger.info('astm connected', { host: this.options.host, port: this.options.port, connection: connection.info.id }),
    });
  }
}

/** Checked before the base class builds anything from the options. */
function validAddress(options: AstmClientOptions): AstmClientOptions {
  if (!options.host) throw new AstmConfigError('host is required', 'host');
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new AstmConfigError('port must be 1-65535', 'port');
  return options;
}
