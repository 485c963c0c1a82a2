import type { Duplex } from 'node:stream';
import type { SerialPort as SerialPortClass } from 'serialport';
import type { PortBinding } from './serial-hangup-binding';
import { summarizeError } from '../shared/redact';
import type { AstmConnection, AstmMessageHandler } from './astm-connection';
import { AstmConfigError } from './errors';
import { ReconnectingAstmLink } from './reconnecting-link';
import type { ReconnectingAstmLinkDeps, ReconnectingAstmLinkEvents, ReconnectingAstmLinkOptions } from './reconnecting-link';

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

export interface AstmSerialOptions extends ReconnectingAstmLinkOptions {
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
}

/** The parts of a SerialPort this adapter uses beyond Duplex; an in-memory duplex has neither. */
type SerialLine = Duplex & { readonly isOpen?: boolean; close?: (callback?: (err?: Error | null) => void) => void };

export interface AstmSerialDeps extends ReconnectingAstmLinkDeps {
  /**
   * Opens the device and calls `onOpen` once it is open (or with the open
   * error), like `new SerialPort(settings, onOpen)`. Tests pass an in-memory duplex.
   */
  openPort?: (settings: SerialPortSettings, onOpen: (err: Error | null) => void) => Duplex;
}

/** The same events as AstmClient, so the instrument link treats both alike. */
export type AstmSerialEvents = ReconnectingAstmLinkEvents;

/**
 * ASTM over an RS-232 line (E1381 §5): the hub opens the serial device the
 * analyzer is cabled to and keeps it open, reopening with backoff when it
 * fails to open or disappears (USB adapter unplugged, terminal driver
 * restarted), because the analyzer may send at any time. The hub is the
 * E1381 host; AstmConnection runs over the port, which is a Duplex.
 */
export class AstmSerial extends ReconnectingAstmLink {
  protected readonly closedMessage = 'ASTM serial port closed';
  private readonly openPort: NonNullable<AstmSerialDeps['openPort']>;
  private readonly settings: SerialPortSettings;
  private port: SerialLine | undefined;

  /**
   * @param options - device, line settings, reopen policy, per-connection options
   * @param handler - receives every complete message
   * @param deps - port factory, timers, clock, logger
   */
  constructor(options: AstmSerialOptions, handler: AstmMessageHandler, deps: AstmSerialDeps = {}) {
    const settings = serialSettings(options);
    super(options, handler, deps);
    this.settings = settings;
    this.openPort = deps.openPort ?? openSerialPort;
  }

  /** The device path (for status and logs). */
  get path(): string {
    return this.settings.path;
  }

  protected notConnectedMessage(waitMs: number): string {
    return `serial port ${this.settings.path} not open within ${waitMs} ms`;
  }

  protected async teardown(connection: AstmConnection | undefined): Promise<void> {
    const port = this.port;
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
  }

  protected dialOnce(): void {
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
    this.dialFailed('astm serial port open failed', { path: this.settings.path, ...summarizeError(err) }, `cannot open serial port ${this.settings.path}`, err);
    this.scheduleRetry();
  }

  private onOpened(port: SerialLine): void {
    if (this.isClosed) {
      release(port);
      return;
    }
    this.attach(port, {
      opened: (connection) => this.logger.info('astm serial port open', { path: this.settings.path, baudRate: this.settings.baudRate, connection: connection.info.id }),
      lost: (reason, connection) => {
        if (this.port === port) this.port = undefined;
        // The device is gone (a read or write failed): free the handle before opening it again.
        release(port);
        if (reason === 'disconnected') this.logger.warn('astm serial port lost', { path: this.settings.path, connection: connection.info.id });
      },
    });
  }
}

/**
 * Loaded on first use: serialport brings native bindings, and the TCP
 * transports (everything else importing adapters/astm) must not depend on them.
 */
function openSerialPort(settings: SerialPortSettings, onOpen: (err: Error | null) => void): Duplex {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SerialPort } = require('serialport') as { SerialPort: typeof SerialPortClass };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { hangupAwareBinding } = require('./serial-hangup-binding') as typeof import('./serial-hangup-binding');
  // SerialPort takes a `binding` over its detected one (untyped option): the same binding, with hang-ups reported.
  const binding = hangupAwareBinding(SerialPort.binding as unknown as PortBinding);
  return new SerialPort({ ...settings, binding } as ConstructorParameters<typeof SerialPortClass>[0], onOpen);
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
