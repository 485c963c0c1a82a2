import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { AstmConnection, frameMessages, STX } from '../../adapters/astm';
import type { AstmConnectionOptions, AstmReceivedMessage, OutboundFrame, TransmitReport } from '../../adapters/astm';
import { FaultWire } from './fault-wire';
import type { WireLog } from './fault-wire';
import type { Fault } from './faults';
import type { Playback } from './playback';

export interface AnalyzerSimulatorOptions {
  /**
   * `client` (default): the analyzer connects to the hub's listener.
   * `server`: the analyzer listens (like a terminal server port) and the hub connects.
   */
  mode?: 'client' | 'server';
  /** Default 127.0.0.1. */
  host?: string;
  /** Hub port (client mode) or port to listen on (server mode, 0 for any). */
  port: number;
  faults?: readonly Fault[];
  /** E1381 timers, framing, encoding of the analyzer side. The role is always `instrument`. */
  connection?: Omit<AstmConnectionOptions, 'role'>;
  /**
   * Re-sends of the whole playback after a failed session: E1381 §6.5.2 has
   * the sender remember an aborted message and send it again. Default 3.
   */
  retries?: number;
  /** Pause before a re-send. Default 200 ms. */
  retryDelayMs?: number;
  /** How long a contention fault waits for the host's ENQ before sending anyway. Default 10 s. */
  contentionWaitMs?: number;
}

export interface PlayResult {
  name: string;
  ok: boolean;
  attempts: number;
  /** Errors of failed attempts (code and class only: no content). */
  errors: { name: string; code: string }[];
  /** Report of the successful attempt. */
  report?: TransmitReport;
  faultsFired: string[];
  /** The frame bytes the analyzer wrote in the successful attempt, as on the wire. */
  frameBytes: Buffer;
}

/**
 * A simulated analyzer: plays record streams or raw captures through real
 * E1381 framing (the adapter's own link, in the instrument role) over TCP,
 * with a {@link FaultWire} in between for fault injection. It also records
 * what the host sends it (orders, query answers). Usable from tests and
 * from the `analyzer.ts` command line.
 */
export class AnalyzerSimulator {
  /** Messages the host sent to the analyzer. */
  readonly received: AstmReceivedMessage[] = [];
  private readonly host: string;
  private server: Server | undefined;
  private connection: AstmConnection | undefined;
  private wire: FaultWire | undefined;
  private connectionWaiters: Array<(c: AstmConnection) => void> = [];
  private contentionGate: (() => void) | undefined;
  private closed = false;
  private readonly receivedWaiters: Array<() => void> = [];

  constructor(private readonly options: AnalyzerSimulatorOptions) {
    this.host = options.host ?? '127.0.0.1';
  }

  /** Listening port in server mode. */
  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? (a as AddressInfo).port : undefined;
  }

  /** Connect (client mode) or listen (server mode). */
  async start(): Promise<void> {
    if ((this.options.mode ?? 'client') === 'client') {
      await this.connectOnce();
      return;
    }
    this.server = createServer((socket) => this.attach(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen({ host: this.host, port: this.options.port }, () => resolve());
    });
  }

  /**
   * Play one playback as one E1381 session; on failure, send it again in a
   * new session (reconnecting if the line dropped), up to `retries` times.
   * Faults apply to the first attempt.
   *
   * @param playback - what to send
   */
  async play(playback: Playback): Promise<PlayResult> {
    const result: PlayResult = { name: playback.name, ok: false, attempts: 0, errors: [], faultsFired: [], frameBytes: Buffer.alloc(0) };
    const faults = this.options.faults ?? [];
    const retries = this.options.retries ?? 3;
    for (let attempt = 0; attempt <= retries && !this.closed; attempt++) {
      result.attempts++;
      const connection = await this.whenConnected();
      const wire = this.wire!;
      const active = attempt === 0 ? faults : [];
      const frames = this.framesFor(connection, playback, active.some((f) => f.kind === 'oversize-frame'));
      wire.arm(active, frames.length);
      const logStart = wire.log.written.length;
      const firedStart = wire.log.fired.length;
      if (active.some((f) => f.kind === 'contention')) await this.waitForHostEnq();
      try {
        result.report = await connection.sendFrames(frames);
        // Let a held-back (late) EOT reach the wire before reporting.
        await this.drainWire(wire);
        result.ok = true;
      } catch (err) {
        const e = err as { name?: string; code?: string };
        result.errors.push({ name: e.name ?? 'Error', code: e.code ?? 'UNKNOWN' });
      }
      result.faultsFired.push(...wire.log.fired.slice(firedStart));
      if (result.ok) {
        result.frameBytes = Buffer.concat(wire.log.written.slice(logStart).filter((b) => b[0] === STX));
        return result;
      }
      await new Promise((r) => setTimeout(r, this.options.retryDelayMs ?? 200));
    }
    return result;
  }

  /**
   * Wait until the host has sent `count` messages in all.
   *
   * @param count - total messages expected in `received`
   * @param timeoutMs - give up after this long
   */
  async waitForReceived(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (Date.now() > deadline) throw new Error(`simulator received ${this.received.length} of ${count} messages`);
      await new Promise<void>((resolve) => {
        this.receivedWaiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** Wire logs of the current connection (bytes written, faults fired). */
  get wireLog(): WireLog | undefined {
    return this.wire?.log;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connection?.close();
    this.wire?.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private framesFor(connection: AstmConnection, playback: Playback, oversize: boolean): readonly OutboundFrame[] {
    if (playback.kind === 'capture') return playback.frames;
    // One frame for the whole message: far past the 247-byte limit.
    if (oversize) return frameMessages(playback.messages.map((m) => Buffer.from(m, 'utf8')), 1 << 20);
    return connection.frame(playback.messages).frames;
  }

  private async waitForHostEnq(): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.contentionGate = undefined;
        resolve();
      }, this.options.contentionWaitMs ?? 10_000);
      this.contentionGate = () => {
        clearTimeout(timer);
        this.contentionGate = undefined;
        resolve();
      };
    });
  }

  private async drainWire(wire: FaultWire): Promise<void> {
    await wire.flushed();
  }

  private whenConnected(): Promise<AstmConnection> {
    if (this.connection?.open) return Promise.resolve(this.connection);
    if ((this.options.mode ?? 'client') === 'client') return this.connectOnce();
    return new Promise((resolve) => this.connectionWaiters.push(resolve));
  }

  private async connectOnce(): Promise<AstmConnection> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: this.host, port: this.options.port }, () => resolve(s));
      s.once('error', reject);
    });
    return this.attach(socket);
  }

  private attach(socket: Socket): AstmConnection {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    const wire = new FaultWire(socket, {
      startTransmission: () => {
        if (!this.contentionGate) return false;
        this.contentionGate();
        return true;
      },
    });
    wire.on('error', () => undefined);
    const connection = new AstmConnection(
      wire,
      (m) => {
        this.received.push(m);
        for (const w of this.receivedWaiters.splice(0)) w();
      },
      { ...this.options.connection, role: 'instrument' },
    );
    this.connection?.close().catch(() => undefined);
    this.connection = connection;
    this.wire = wire;
    for (const w of this.connectionWaiters.splice(0)) w(connection);
    return connection;
  }
}
