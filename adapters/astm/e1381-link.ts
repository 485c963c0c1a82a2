import { EventEmitter } from 'node:events';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { ACK, CR, ENQ, EOT, LF, MAX_FRAME_BYTES, NAK } from './control-characters';
import { AstmClosedError, AstmConfigError, AstmFrameError, AstmRejectedError, AstmTimeoutError } from './errors';
import type { AstmFrameErrorKind } from './errors';
import { FrameDecoder, MAX_RECEIVE_FRAME_BYTES } from './frame-decoder';
import type { LinkToken, ReceivedFrame } from './frame-decoder';
import type { OutboundFrame } from './frame-encoder';
import { systemClock, systemTimers } from './timers';
import type { Clock, TimerHandle, Timers } from './timers';

/**
 * Which end of the link this is. It only matters on contention (both ends
 * send ENQ at once): E1381 §6.2.1 (contention) gives the instrument priority.
 */
export type E1381Role = 'instrument' | 'host';

/** E1381 §6.5.2: a sender waits 15 s for the reply to ENQ ... */
export const ESTABLISH_TIMEOUT_MS = 15_000;
/** ... and 15 s for the reply to each frame. */
export const REPLY_TIMEOUT_MS = 15_000;
/** E1381 §6.5.2: a receiver waits 30 s for the next frame or EOT. */
export const RECEIVER_TIMEOUT_MS = 30_000;
/** E1381 §6.2 (establishment): after a NAK to its ENQ (receiver busy) the sender waits at least 10 s. */
export const BUSY_RETRY_MS = 10_000;
/** E1381 §6.2.1: after contention the instrument waits at least 1 s before its next ENQ. */
export const CONTENTION_RETRY_MS = 1_000;
/**
 * E1381 §6.2.1 / §6.5.2: after contention the computer system waits up to
 * 20 s for the instrument's ENQ before it regards the line as neutral again.
 */
export const CONTENTION_WAIT_MS = 20_000;
/** E1381 §6.5.1 (defective frames): a frame not accepted on its sixth try ends the transfer. */
export const MAX_FRAME_ATTEMPTS = 6;
/** ENQ tries answered with NAK before giving up (cobas e411 manual: six). */
export const MAX_ESTABLISH_ATTEMPTS = 6;

export interface E1381LinkOptions {
  role: E1381Role;
  /** Default {@link ESTABLISH_TIMEOUT_MS}. */
  establishTimeoutMs?: number;
  /** Default {@link REPLY_TIMEOUT_MS}. */
  replyTimeoutMs?: number;
  /** Default {@link RECEIVER_TIMEOUT_MS}. */
  receiverTimeoutMs?: number;
  /** Default {@link BUSY_RETRY_MS}. */
  busyRetryMs?: number;
  /** Default {@link CONTENTION_RETRY_MS} (instrument role). */
  contentionRetryMs?: number;
  /** Default {@link CONTENTION_WAIT_MS} (host role). */
  contentionWaitMs?: number;
  /** Default {@link MAX_FRAME_ATTEMPTS}. */
  maxFrameAttempts?: number;
  /** Default {@link MAX_ESTABLISH_ATTEMPTS}. */
  maxEstablishAttempts?: number;
  /** Hard cap on a received frame (lenient above 247 bytes up to this). Default 64 KiB. */
  maxReceiveFrameBytes?: number;
}

export interface E1381LinkDeps {
  /** Puts bytes on the wire. Throwing is treated as a lost connection. */
  write: (bytes: Buffer) => void;
  timers?: Timers;
  clock?: Clock;
  logger?: Logger;
}

/**
 * Called for every new frame accepted in order (checksum and frame number
 * good). The frame is acknowledged once this returns or its promise
 * resolves; a rejection NAKs it, so the sender retransmits it. That lets the
 * layer above hold the ACK of a message's last frame until the message is
 * stored (the hub records before it acknowledges).
 */
export type FrameAcceptor = (frame: ReceivedFrame) => void | Promise<void>;

/** Why a receive session ended. */
export type ReceiveEndReason =
  /** EOT: the sender finished (or aborted; E1381 cannot tell the two apart). */
  | 'eot'
  /** The 30 s receiver timer expired. */
  | 'timeout'
  /** A new ENQ arrived inside the session; a new session starts. */
  | 'reset'
  | 'closed'
  | 'disconnected';

export interface TransmitReport {
  frames: number;
  /** Bytes written, retransmissions and control characters included. */
  bytesSent: number;
  retransmissions: number;
  establishAttempts: number;
  contentions: number;
  /** Exchanges that waited for a reply: ENQ tries plus frame tries. */
  roundTrips: number;
  durationMs: number;
}

export interface E1381LinkStats {
  bytesIn: number;
  bytesOut: number;
  framesAccepted: number;
  framesRejected: number;
  duplicateFrames: number;
  oversizeFrames: number;
  sessionsReceived: number;
  sessionsSent: number;
}

export interface E1381LinkEvents {
  receiveStart: [];
  receiveEnd: [reason: ReceiveEndReason];
  /** A frame that was NAKed or ignored. */
  frameError: [error: AstmFrameError];
  /** A retransmitted frame (same FN as the last accepted one): ACKed again and dropped (E1381 §6.3.2). */
  duplicateFrame: [frameNumber: number];
  /** An accepted frame above the 247-byte limit (size counted with CR LF). */
  oversizeFrame: [bytes: number];
  /** Both ends sent ENQ (E1381 §6.2.1). */
  contention: [];
  /** The receiver answered a frame with EOT (E1381 §6.3.5). Treated as ACK; the request is not honoured. */
  interruptRequested: [];
  /** Bytes after the last frame's reply that no one waited for. */
  stray: [bytes: number];
}

type Line = 'neutral' | 'sending' | 'receiving';
type Reply = 'ACK' | 'NAK' | 'ENQ' | 'EOT' | 'other' | 'timeout' | 'closed';

interface Job {
  frames: readonly OutboundFrame[];
  resolve: (report: TransmitReport) => void;
  reject: (error: Error) => void;
}

type Progress = { framesAccepted: number; framesTotal: number; maybeDelivered: boolean };

/** Internal: unwinds a running job when the link closes; turned into AstmClosedError. */
class LinkClosed extends Error {
  constructor(readonly progress: Progress) {
    super('link closed');
  }
}

/**
 * The ASTM E1381 (CLSI LIS1-A) data link as a transport-agnostic state
 * machine: bytes in through {@link receive}, bytes out through `deps.write`,
 * timers through `deps.timers`. It plays both the sender and the receiver
 * side of the half-duplex line:
 *
 * - Establishment (§6.2): ENQ answered by ACK; NAK means busy (retry after
 *   10 s); ENQ means contention (the instrument wins: the host stops, answers
 *   the instrument's next ENQ, and retries its own after that session or 20 s).
 * - Transfer (§6.3): frames numbered 1..7,0,..; each waits for ACK; NAK or
 *   any other character is a retransmission (at most 6 tries); EOT instead
 *   of ACK is a receiver interrupt, taken as ACK. The receiver NAKs a bad
 *   checksum or an unexpected FN and ACKs-and-drops a repeat of the last
 *   accepted frame (its ACK was lost).
 * - Termination (§6.4): EOT. A reply timeout also ends the session with EOT.
 *
 * Messages above this layer are opaque frame texts; joining frames and
 * splitting records is the caller's job.
 */
export class E1381Link extends EventEmitter<E1381LinkEvents> {
  readonly stats: E1381LinkStats = {
    bytesIn: 0,
    bytesOut: 0,
    framesAccepted: 0,
    framesRejected: 0,
    duplicateFrames: 0,
    oversizeFrames: 0,
    sessionsReceived: 0,
    sessionsSent: 0,
  };
  private readonly timers: Timers;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly decoder: FrameDecoder;
  private readonly o: Required<Omit<E1381LinkOptions, 'role'>> & { role: E1381Role };
  private line: Line = 'neutral';
  private closedReason: 'closed' | 'disconnected' | undefined;
  // receiver
  private expectedFn = 1;
  private lastAcceptedFn: number | undefined;
  private receiverTimer: TimerHandle | undefined;
  private readonly tokens: LinkToken[] = [];
  private draining = false;
  // sender
  private readonly jobs: Job[] = [];
  private pumping = false;
  private replyWaiter: ((reply: Reply) => void) | undefined;
  private readonly wakeups = new Set<() => void>();
  private readonly closeListeners = new Set<() => void>();

  /**
   * @param options - role and timers; see {@link E1381LinkOptions}
   * @param accept - called for each frame accepted in order; see {@link FrameAcceptor}
   * @param deps - the byte writer, timers, clock and logger
   */
  constructor(
    options: E1381LinkOptions,
    private readonly accept: FrameAcceptor,
    private readonly deps: E1381LinkDeps,
  ) {
    super();
    this.o = {
      role: options.role,
      establishTimeoutMs: positive(options.establishTimeoutMs, ESTABLISH_TIMEOUT_MS, 'establishTimeoutMs'),
      replyTimeoutMs: positive(options.replyTimeoutMs, REPLY_TIMEOUT_MS, 'replyTimeoutMs'),
      receiverTimeoutMs: positive(options.receiverTimeoutMs, RECEIVER_TIMEOUT_MS, 'receiverTimeoutMs'),
      busyRetryMs: positive(options.busyRetryMs, BUSY_RETRY_MS, 'busyRetryMs', true),
      contentionRetryMs: positive(options.contentionRetryMs, CONTENTION_RETRY_MS, 'contentionRetryMs', true),
      contentionWaitMs: positive(options.contentionWaitMs, CONTENTION_WAIT_MS, 'contentionWaitMs', true),
      maxFrameAttempts: positive(options.maxFrameAttempts, MAX_FRAME_ATTEMPTS, 'maxFrameAttempts'),
      maxEstablishAttempts: positive(options.maxEstablishAttempts, MAX_ESTABLISH_ATTEMPTS, 'maxEstablishAttempts'),
      maxReceiveFrameBytes: positive(options.maxReceiveFrameBytes, MAX_RECEIVE_FRAME_BYTES, 'maxReceiveFrameBytes'),
    };
    if (options.role !== 'instrument' && options.role !== 'host') {
      throw new AstmConfigError('role must be "instrument" or "host"', 'role');
    }
    this.timers = deps.timers ?? systemTimers;
    this.clock = deps.clock ?? systemClock;
    this.logger = deps.logger ?? silentLogger;
    this.decoder = new FrameDecoder(this.o.maxReceiveFrameBytes);
  }

  get role(): E1381Role {
    return this.o.role;
  }

  /** `neutral` (idle), `sending` or `receiving`. */
  get state(): Line {
    return this.line;
  }

  /** True when nothing is queued, being sent or being received. */
  get idle(): boolean {
    return this.line === 'neutral' && this.jobs.length === 0 && !this.pumping;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * Feed bytes read from the transport.
   *
   * @param chunk - any slice of the byte stream
   */
  receive(chunk: Uint8Array): void {
    if (this.closedReason) return;
    this.stats.bytesIn += chunk.length;
    for (const token of this.decoder.push(chunk)) this.tokens.push(token);
    if (!this.draining) void this.drain();
  }

  /**
   * Send frames in one session: establishment, transfer, termination.
   * Transmissions queue behind each other and behind a session being received.
   * Frames usually come from {@link frameMessages}; a capture replay may pass
   * its own bytes (the numbering inside them is then the caller's business).
   *
   * @param frames - the frames of the session, in order
   * @returns a report once EOT has been written after the last accepted frame
   * @throws AstmTimeoutError, AstmRejectedError, AstmClosedError (as rejections)
   */
  transmit(frames: readonly OutboundFrame[]): Promise<TransmitReport> {
    if (this.closedReason) return Promise.reject(this.closedError({ framesAccepted: 0, framesTotal: frames.length, maybeDelivered: false }));
    return new Promise<TransmitReport>((resolve, reject) => {
      this.jobs.push({ frames, resolve, reject });
      if (!this.pumping) void this.pump();
    });
  }

  /**
   * Stop: queued and running transmissions reject with AstmClosedError, a
   * session being received ends with `closed`/`disconnected`. Idempotent.
   *
   * @param reason - `disconnected` when the transport was lost
   */
  close(reason: 'closed' | 'disconnected' = 'closed'): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    this.stopReceiverTimer();
    this.decoder.reset();
    this.tokens.length = 0;
    if (this.line === 'receiving') this.endReceive(reason);
    const waiter = this.replyWaiter;
    this.replyWaiter = undefined;
    waiter?.('closed');
    for (const onClose of [...this.closeListeners]) onClose();
    this.wakeAll();
    for (const job of this.jobs.splice(0)) {
      job.reject(this.closedError({ framesAccepted: 0, framesTotal: job.frames.length, maybeDelivered: false }));
    }
  }

  // ---------------------------------------------------------------- receiving

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      for (let token = this.tokens.shift(); token; token = this.tokens.shift()) {
        if (this.closedReason) return;
        if (this.line === 'sending') this.onReplyToken(token);
        else await this.onReceiverToken(token);
      }
    } catch (err) {
      this.logger.error('astm link: token processing failed', summarizeError(err));
    } finally {
      this.draining = false;
      // A transmission may be waiting for the queue to empty.
      this.wakeAll();
    }
  }

  private async onReceiverToken(token: LinkToken): Promise<void> {
    if (token.kind === 'control') {
      if (token.byte === ENQ) {
        if (this.line === 'receiving') this.endReceive('reset');
        this.startReceive();
      } else if (token.byte === EOT && this.line === 'receiving') {
        this.endReceive('eot');
      }
      return;
    }
    if (token.kind === 'truncated') {
      if (this.line === 'receiving') this.frameError('truncated', token.bytes, undefined, 'frame cut off before its end');
      return;
    }
    if (token.kind === 'noise') return;
    if (this.line !== 'receiving') {
      this.frameError('unexpected', token.frame.bytes, token.frame.frameNumber, 'frame outside a session (no ENQ)');
      return;
    }
    await this.onFrame(token.frame);
  }

  private startReceive(): void {
    this.line = 'receiving';
    this.expectedFn = 1;
    this.lastAcceptedFn = undefined;
    this.stats.sessionsReceived++;
    this.emit('receiveStart');
    this.writeControl(ACK);
    this.restartReceiverTimer();
  }

  private endReceive(reason: ReceiveEndReason): void {
    this.stopReceiverTimer();
    this.line = 'neutral';
    this.emit('receiveEnd', reason);
    this.wakeAll();
  }

  private async onFrame(frame: ReceivedFrame): Promise<void> {
    this.stopReceiverTimer();
    if (frame.overflow) {
      this.reject(frame, 'oversize', `frame larger than ${this.o.maxReceiveFrameBytes} bytes`);
    } else if (!frame.checksumOk) {
      this.reject(frame, 'checksum', 'checksum mismatch');
    } else if (frame.frameNumber === this.expectedFn) {
      try {
        await this.accept(frame);
      } catch (err) {
        if (this.line !== 'receiving') return;
        this.reject(frame, 'handler', 'message handler rejected', err);
        return;
      }
      if (this.line !== 'receiving') return;
      this.lastAcceptedFn = this.expectedFn;
      this.expectedFn = (this.expectedFn + 1) & 7;
      this.stats.framesAccepted++;
      // `bytes` runs from STX through C2; the 247-byte limit includes CR LF.
      if (frame.bytes + 2 > MAX_FRAME_BYTES) {
        this.stats.oversizeFrames++;
        this.emit('oversizeFrame', frame.bytes + 2);
      }
      this.writeControl(ACK);
    } else if (frame.frameNumber !== undefined && frame.frameNumber === this.lastAcceptedFn) {
      this.stats.duplicateFrames++;
      this.emit('duplicateFrame', frame.frameNumber);
      this.writeControl(ACK);
    } else {
      this.reject(frame, 'frame-number', `frame number ${frame.frameNumber ?? '?'} where ${this.expectedFn} was expected`);
    }
    if (this.line === 'receiving') this.restartReceiverTimer();
  }

  private reject(frame: ReceivedFrame, kind: AstmFrameErrorKind, why: string, cause?: unknown): void {
    this.stats.framesRejected++;
    this.frameError(kind, frame.bytes, frame.frameNumber, why, cause);
    this.writeControl(NAK);
  }

  private frameError(kind: AstmFrameErrorKind, bytes: number, fn: number | undefined, why: string, cause?: unknown): void {
    const error = new AstmFrameError(`frame ${fn ?? '?'} (${bytes} bytes) not accepted: ${why}`, kind, bytes, fn, cause === undefined ? undefined : { cause });
    this.logger.debug('astm frame not accepted', { kind, frameNumber: fn, bytes });
    this.emit('frameError', error);
  }

  private restartReceiverTimer(): void {
    this.stopReceiverTimer();
    this.receiverTimer = this.timers.setTimeout(() => {
      this.receiverTimer = undefined;
      // A frame may be with the acceptor right now; its outcome decides.
      if (this.line === 'receiving' && !this.draining) this.endReceive('timeout');
      else if (this.line === 'receiving') this.restartReceiverTimer();
    }, this.o.receiverTimeoutMs);
  }

  private stopReceiverTimer(): void {
    if (this.receiverTimer !== undefined) this.timers.clearTimeout(this.receiverTimer);
    this.receiverTimer = undefined;
  }

  // ------------------------------------------------------------------ sending

  private onReplyToken(token: LinkToken): void {
    let reply: Reply;
    if (token.kind === 'control') {
      reply = token.byte === ACK ? 'ACK' : token.byte === NAK ? 'NAK' : token.byte === ENQ ? 'ENQ' : 'EOT';
    } else if (token.kind === 'noise' && (token.byte === CR || token.byte === LF || token.byte === 0)) {
      return; // line noise some peers add after ACK; not a reply
    } else {
      reply = 'other';
    }
    const waiter = this.replyWaiter;
    if (!waiter) {
      this.emit('stray', 1);
      return;
    }
    this.replyWaiter = undefined;
    waiter(reply);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (let job = this.jobs.shift(); job; job = this.jobs.shift()) {
        try {
          job.resolve(await this.runJob(job.frames));
        } catch (err) {
          job.reject(err instanceof LinkClosed ? this.closedError(err.progress) : (err as Error));
        }
      }
    } finally {
      this.pumping = false;
      this.wakeAll();
    }
  }

  private async runJob(frames: readonly OutboundFrame[]): Promise<TransmitReport> {
    const started = this.clock();
    const report: TransmitReport = { frames: frames.length, bytesSent: 0, retransmissions: 0, establishAttempts: 0, contentions: 0, roundTrips: 0, durationMs: 0 };
    const progress: Progress = { framesAccepted: 0, framesTotal: frames.length, maybeDelivered: false };
    const bytesBefore = this.stats.bytesOut;
    let busy = 0;
    // Establishment (E1381 §6.2).
    for (;;) {
      await this.untilNeutral(progress);
      this.line = 'sending';
      report.establishAttempts++;
      report.roundTrips++;
      const reply = await this.exchange(Buffer.from([ENQ]), this.o.establishTimeoutMs, progress);
      if (reply === 'ACK') break;
      if (reply === 'timeout') {
        this.terminate();
        throw new AstmTimeoutError(`no reply to ENQ within ${this.o.establishTimeoutMs} ms`, 'establish', progress);
      }
      this.line = 'neutral';
      if (reply === 'ENQ') {
        report.contentions++;
        this.emit('contention');
        // Two ends both configured as the same role would contend forever.
        if (report.contentions > this.o.maxEstablishAttempts) {
          throw new AstmRejectedError(`contention ${report.contentions} times in a row`, 'establish', report.contentions, progress);
        }
        this.logger.info('astm contention', { role: this.o.role });
        if (this.o.role === 'instrument') await this.sleep(this.o.contentionRetryMs, progress);
        else await this.yieldToPeer(progress);
        continue;
      }
      // NAK (busy) or anything else (E1381 §6.2).
      if (++busy >= this.o.maxEstablishAttempts) {
        throw new AstmRejectedError(`ENQ refused ${busy} times`, 'establish', busy, progress);
      }
      await this.sleep(this.o.busyRetryMs, progress);
    }
    this.stats.sessionsSent++;
    // Transfer (E1381 §6.3).
    for (const frame of frames) {
      let attempts = 0;
      for (;;) {
        attempts++;
        report.roundTrips++;
        progress.maybeDelivered = true;
        const reply = await this.exchange(frame.bytes, this.o.replyTimeoutMs, progress);
        if (reply === 'ACK' || reply === 'EOT') {
          if (reply === 'EOT') this.emit('interruptRequested');
          progress.framesAccepted++;
          progress.maybeDelivered = false;
          break;
        }
        if (reply === 'timeout') {
          this.terminate();
          throw new AstmTimeoutError(`no reply to frame ${frame.frameNumber} within ${this.o.replyTimeoutMs} ms`, 'transfer', progress, frame.frameNumber);
        }
        progress.maybeDelivered = false; // a NAK says the frame was not taken
        if (attempts >= this.o.maxFrameAttempts) {
          this.terminate();
          throw new AstmRejectedError(`frame ${frame.frameNumber} refused ${attempts} times`, 'transfer', attempts, progress, frame.frameNumber);
        }
        report.retransmissions++;
      }
    }
    // Termination (E1381 §6.4).
    this.terminate();
    report.bytesSent = this.stats.bytesOut - bytesBefore;
    report.durationMs = this.clock() - started;
    return report;
  }

  /** EOT and back to neutral; the write may fail on a dead transport, which is fine here. */
  private terminate(): void {
    try {
      this.writeControl(EOT);
    } finally {
      this.line = 'neutral';
      this.wakeAll();
    }
  }

  /**
   * Host side of contention: answer the instrument's next ENQ (the receiver
   * logic does, the line being neutral) and try again once that session is
   * over, or after the contention wait if no ENQ comes.
   */
  private async yieldToPeer(progress: Progress): Promise<void> {
    const deadline = this.clock() + this.o.contentionWaitMs;
    let sawSession = false;
    for (;;) {
      if (this.closedReason) throw new LinkClosed(progress);
      if (this.line === 'receiving') sawSession = true;
      else if (sawSession) return;
      const left = deadline - this.clock();
      if (!sawSession && left <= 0) return;
      await this.waitForChange(sawSession ? undefined : left);
    }
  }

  private async untilNeutral(progress: Progress): Promise<void> {
    for (;;) {
      if (this.closedReason) throw new LinkClosed(progress);
      if (this.line === 'neutral' && !this.draining && this.tokens.length === 0) return;
      await this.waitForChange(undefined);
    }
  }

  /**
   * Arm the reply waiter, then write: a peer (or an in-memory test double)
   * may answer synchronously inside the write.
   */
  private async exchange(bytes: Buffer, ms: number, progress: Progress): Promise<Reply> {
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = this.timers.setTimeout(() => {
        if (this.replyWaiter === settle) this.replyWaiter = undefined;
        resolve('timeout');
      }, ms);
      const settle = (r: Reply): void => {
        this.timers.clearTimeout(timer);
        if (r === 'closed') reject(new LinkClosed(progress));
        else resolve(r);
      };
      this.replyWaiter = settle;
    });
    try {
      this.write(bytes, progress);
    } catch (err) {
      reply.catch(() => undefined);
      throw err;
    }
    return reply;
  }

  private sleep(ms: number, progress: Progress): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.closedReason) {
        reject(new LinkClosed(progress));
        return;
      }
      const onClose = (): void => {
        this.timers.clearTimeout(timer);
        reject(new LinkClosed(progress));
      };
      const timer = this.timers.setTimeout(() => {
        this.closeListeners.delete(onClose);
        resolve();
      }, ms);
      this.closeListeners.add(onClose);
    });
  }

  /** Resolves on the next line change (or close), or after `ms` when given. */
  private waitForChange(ms: number | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: TimerHandle | undefined;
      const wake = (): void => {
        this.wakeups.delete(wake);
        if (timer !== undefined) this.timers.clearTimeout(timer);
        resolve();
      };
      if (ms !== undefined) timer = this.timers.setTimeout(wake, Math.max(0, ms));
      this.wakeups.add(wake);
    });
  }

  private wakeAll(): void {
    for (const wake of [...this.wakeups]) wake();
  }

  private writeControl(byte: number): void {
    this.write(Buffer.from([byte]), undefined);
  }

  private write(bytes: Buffer, progress: Progress | undefined): void {
    if (this.closedReason) {
      if (progress) throw new LinkClosed(progress);
      return;
    }
    try {
      this.deps.write(bytes);
      this.stats.bytesOut += bytes.length;
    } catch (err) {
      this.logger.warn('astm link: write failed', summarizeError(err));
      this.close('disconnected');
      if (progress) throw new LinkClosed(progress);
    }
  }

  private closedError(progress: Progress): AstmClosedError {
    const what = this.closedReason === 'disconnected' ? 'connection lost' : 'link closed';
    return new AstmClosedError(`${what} after ${progress.framesAccepted} of ${progress.framesTotal} frames`, progress);
  }
}

function positive(value: number | undefined, fallback: number, key: string, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new AstmConfigError(`${key} must be a ${allowZero ? 'non-negative' : 'positive'} number of milliseconds or count`, key);
  }
  return value;
}
