import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { SerialPort as SerialPortClass } from 'serialport';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { CONNECT_TIMEOUT_MS } from './astm-client';
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

/** E1381 §5 names 9600 baud, 8 data bits, no parity, 1 stop bit as the usual setting. */
export const DEFAULT_BAUD_RATE = 9600;
export const MIN_BAUD_RATE = 1200;
export const MAX_BAUD_RATE = 115_200;

export type SerialParity = 'none' | 'even' | 'odd';

/** What is handed to the port factory: the arguments of `new SerialPort(...)`. */
export interface SerialPortSettings {
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: SerialParity;
  stopBits: 1 | 2;
  /** RTS/CTS hardware flow control. */
  rtscts: boolean;
}

export interface AstmSerialOptions extends AstmConnectionOptions {
  /** The device: `/dev/ttyUSB0`, `/dev/serial/by-id/...`, `COM3`. */
  path: string;
  /** Default {@link DEFAULT_BAUD_RATE}. */
  baudRate?: number;
  /** Default 8. */
  dataBits?: 7 | 8;
  /** Default `none`. */
  parity?: SerialParity;
  /** Default 1. */
  stopBits?: 1 | 2;
  /** Default false. */
  rtscts?: boolean;
  /** How long a send waits for the port to be open. Default {@link CONNECT_TIMEOUT_MS}. */
  connectTimeoutMs?: number;
  /** Reopen with backoff after a failed open or a lost device (default on). */
  reconnect?: Partial<ReconnectOptions> | false;
  onQuery?: AstmQueryHandler;
}

/** The parts of a SerialPort this adapter uses beyond Duplex; an in-memory duplex has neither. */
type SerialLine = Duplex & { readonly isOpen?: boolean; close?: (callback?: (err?: Error | null) => void) => void };

export interface AstmSerialDeps extends AstmConnectionDeps {
  /**
   * Opens the device and calls `onOpen` once it is open (or with the open
   * error), like `new SerialPort(settings, onOpen)`. Tests pass an in-memory duplex.
   */
  openPort?: (settings: SerialPortSettings, onOpen: (err: Error | null) => void) => Duplex;
  /** Uniform [0, 1) for backoff jitter. */
  random?: () => number;
}

type Forwarded = Omit<AstmConnectionEvents, 'close'>;

/** The same events as AstmClient, so the instrument link treats both alike. */
export interface AstmSerialEvents extends Forwarded {
  connected: [info: AstmConnectionInfo];
  disconnected: [info: { errorCode?: string }];
  reconnecting: [info: { attempt: number; delayMs: number }];
  /** Failed opens. Only emitted when someone listens; otherwise logged. */
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
 * ASTM over an RS-232 line (E1381 §5): the hub opens the serial device the
 * analyzer is cabled to and keeps it open, reopening with backoff when it
 * fails to open or disappears (USB adapter unplugged, terminal driver
 * restarted), because the analyzer may send at any time. The hub is the
 * E1381 host; AstmConnection runs over the port, which is a Duplex.
 */
export class AstmSerial extends EventEmitter<AstmSerialEvents> {
  private readonly logger: Logger;
  private readonly timers: Timers;
  private readonly connDeps: AstmConnectionDeps;
  private readonly openPort: NonNullable<AstmSerialDeps['openPort']>;
  private readonly random: () => number;
  private readonly backoff: ReconnectOptions | undefined;
  private readonly settings: SerialPortSettings;
  private connection: AstmConnection | undefined;
  private port: SerialLine | undefined;
  private attempt = 0;
  private started = false;
  private closed = false;
  private retryTimer: TimerHandle | undefined;
  private readonly waiters = new Set<{ resolve: (c: AstmConnection) => void; reject: (e: Error) => void }>();
  private closePromise: Promise<void> | undefined;

  /**
   * @param options - device, line settings, reopen policy, per-connection options
   * @param handler - receives every complete message
   * @param deps - port factory, timers, clock, logger
   */
  constructor(
    private readonly options: AstmSerialOptions,
    private readonly handler: AstmMessageHandler,
    deps: AstmSerialDeps = {},
  ) {
    super();
    this.settings = serialSettings(options);
    this.logger = deps.logger ?? silentLogger;
    this.timers = deps.timers ?? systemTimers;
    const clock = deps.clock ?? systemClock;
    this.connDeps = { timers: this.timers, clock, logger: this.logger, deduper: deps.deduper ?? new MessageDeduper(options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS, clock) };
    this.openPort = deps.openPort ?? openSerialPort;
    this.random = deps.random ?? Math.random;
    this.backoff = options.reconnect === false ? undefined : { ...DEFAULT_RECONNECT, ...options.reconnect };
  }

  /** The device path (for status and logs). */
  get path(): string {
    return this.settings.path;
  }

  get connected(): boolean {
    return this.connection?.open ?? false;
  }

  /** Open the port now and keep it open until close(). Idempotent. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.open();
  }

  /**
   * Send E1394 messages to the instrument; starts the adapter if needed and
   * waits up to `connectTimeoutMs` for the port to be open.
   *
   * @param messages - E1394 texts or messages
   */
  async send(messages: readonly (string | AstmMessage)[]): Promise<AstmSendReport> {
    this.start();
    const connection = await this.whenConnected();
    return connection.send(messages);
  }

  /** Stop reopening and close the port. Safe to call more than once. */
  close(): Promise<void> {
    this.closePromise ??= (async () => {
      this.closed = true;
      if (this.retryTimer !== undefined) this.timers.clearTimeout(this.retryTimer);
      for (const w of this.waiters) w.reject(new AstmClosedError('ASTM serial port closed'));
      this.waiters.clear();
      const port = this.port;
      const connection = this.connection;
      if (!port) return;
      if (!connection) {
        release(port);
        return;
      }
      // A SerialPort has no _final: ending the stream leaves the device open, so close it once the
      // last bytes are written; otherwise AstmConnection would wait for its close timeout.
      if (port.writableFinished) release(port);
      else port.once('finish', () => release(port));
      await connection.close();
      release(port);
    })();
    return this.closePromise;
  }

  private whenConnected(): Promise<AstmConnection> {
    if (this.connection?.open) return Promise.resolve(this.connection);
    if (this.closed) return Promise.reject(new AstmClosedError('ASTM serial port closed'));
    const waitMs = this.options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
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
        reject(new AstmClosedError(`serial port ${this.settings.path} not open within ${waitMs} ms`));
      }, waitMs);
      this.waiters.add(waiter);
    });
  }

  private open(): void {
    if (this.closed) return;
    let port: SerialLine;
    try {
      // Deferred so a factory that calls back synchronously still finds `port` assigned.
      port = this.openPort(this.settings, (err) => queueMicrotask(() => (err ? this.onOpenFailed(port, err) : this.onOpened(port)))) as SerialLine;
    } catch (err) {
      // SerialPort throws synchronously on arguments it rejects.
      this.onOpenFailed(undefined, err instanceof Error ? err : new Error(String(err)));
      return;
    }
    this.port = port;
    // Errors outside an open callback (a failed write with nobody listening) must not crash the process.
    port.on('error', (err) => {
      if (!this.connection) this.logger.warn('astm serial port error', { path: this.settings.path, ...summarizeError(err) });
    });
  }

  private onOpenFailed(port: SerialLine | undefined, err: Error): void {
    if (port && this.port === port) this.port = undefined;
    this.logger.warn('astm serial port open failed', { path: this.settings.path, ...summarizeError(err) });
    if (this.listenerCount('error') > 0) this.emit('error', new AstmClosedError(`cannot open serial port ${this.settings.path}`, undefined, { cause: err }));
    this.scheduleRetry();
  }

  private onOpened(port: SerialLine): void {
    if (this.closed) {
      release(port);
      return;
    }
    this.attempt = 0;
    const connection = new AstmConnection(port, this.handler, { ...this.options, role: this.options.role ?? 'host' }, this.connDeps);
    this.connection = connection;
    for (const event of FORWARDED) {
      connection.on(event, (...args: unknown[]) => (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args));
    }
    connection.on('close', (reason) => {
      this.connection = undefined;
      if (this.port === port) this.port = undefined;
      // The device is gone (a read or write failed): free the handle before opening it again.
      release(port);
      if (reason === 'disconnected') this.logger.warn('astm serial port lost', { path: this.settings.path, connection: connection.info.id });
      this.emit('disconnected', {});
      this.scheduleRetry();
    });
    this.logger.info('astm serial port open', { path: this.settings.path, baudRate: this.settings.baudRate, connection: connection.info.id });
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
      this.open();
    }, delayMs);
  }
}

/**
 * Loaded on first use: serialport brings native bindings, and the TCP
 * transports (everything else importing adapters/astm) must not depend on them.
 */
function openSerialPort(settings: SerialPortSettings, onOpen: (err: Error | null) => void): Duplex {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SerialPort } = require('serialport') as { SerialPort: typeof SerialPortClass };
  return new SerialPort({ ...settings }, onOpen);
}

/** Close a SerialPort (its fd) or destroy any other duplex; errors of an already closed port are ignored. */
function release(port: SerialLine): void {
  if (typeof port.close === 'function') {
    if (port.isOpen) port.close(() => undefined);
  } else if (!port.destroyed) port.destroy();
}

function serialSettings(o: AstmSerialOptions): SerialPortSettings {
  if (!o.path || !o.path.trim()) throw new AstmConfigError('path (the serial device) is required', 'path');
  const baudRate = o.baudRate ?? DEFAULT_BAUD_RATE;
  if (!Number.isInteger(baudRate) || baudRate < MIN_BAUD_RATE || baudRate > MAX_BAUD_RATE) throw new AstmConfigError(`baudRate must be ${MIN_BAUD_RATE}-${MAX_BAUD_RATE}`, 'baudRate');
  const dataBits = o.dataBits ?? 8;
  if (dataBits !== 7 && dataBits !== 8) throw new AstmConfigError('dataBits must be 7 or 8', 'dataBits');
  const parity = o.parity ?? 'none';
  if (!['none', 'even', 'odd'].includes(parity)) throw new AstmConfigError('parity must be none, even or odd', 'parity');
  const stopBits = o.stopBits ?? 1;
  if (stopBits !== 1 && stopBits !== 2) throw new AstmConfigError('stopBits must be 1 or 2', 'stopBits');
  return { path: o.path.trim(), baudRate, dataBits, parity, stopBits, rtscts: o.rtscts ?? false };
}
