import type { Socket } from 'node:net';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { MllpHandlerError } from './errors';
import type { MllpFrameError } from './errors';
import { MllpDecoder, frame } from './mllp-framer';

/** What a frame handler learns about the connection a frame came from. */
export interface MllpConnectionContext {
  connectionId: number;
  remoteAddress: string;
  remotePort: number;
}

/**
 * Handles one inbound payload and returns the response to frame and send
 * back (normally the HL7 ACK), or undefined to send nothing. A string is
 * sent as UTF-8; return a Buffer when MSH-18 names another charset. A
 * rejection is treated as "cannot acknowledge": see {@link MllpServerConnection}.
 */
export type MllpFrameHandler = (payload: Buffer, ctx: MllpConnectionContext) => Promise<Buffer | string | undefined>;

/** Why a connection ended, for the server's `disconnect` event. */
export type MllpDisconnectReason = 'peer' | 'idle' | 'error' | 'handler-error' | 'server-close';

export interface MllpServerConnectionOptions {
  socket: Socket;
  context: MllpConnectionContext;
  handler: MllpFrameHandler;
  maxFrameBytes: number;
  /** 0 disables the idle timer. */
  idleTimeoutMs: number;
  /** Grace period between a graceful end and a forced destroy. */
  closeTimeoutMs: number;
  logger: Logger;
  onFrameError(error: MllpFrameError): void;
  onHandlerError(error: MllpHandlerError): void;
  onClose(reason: MllpDisconnectReason, errorCode: string | undefined): void;
}

/**
 * Frames queued before the socket is paused. Senders normally wait for each
 * ACK, so this only bites a peer that pipelines; pausing pushes back through
 * TCP flow control instead of buffering its messages in our heap.
 */
const MAX_PENDING_FRAMES = 32;

/**
 * One accepted MLLP connection.
 *
 * Frames are handled strictly one at a time, in arrival order, and each
 * response is written before the next frame is handed over. HL7 v2 original
 * mode assumes in-order processing (an A08 must not overtake its A01), and
 * MLLP peers wait for each ACK anyway, so concurrency would buy little and
 * risk reordering side effects. Response order follows from this.
 *
 * When the handler rejects, the connection is destroyed and frames queued
 * behind it are dropped. Skipping the failed frame and acknowledging the next
 * ones would break ordering once the sender retries; closing tells the sender
 * at once that nothing after its last ACK was accepted.
 */
export class MllpServerConnection {
  private readonly decoder: MllpDecoder;
  private readonly queue: Buffer[] = [];
  private busy = false;
  private peerEnded = false;
  private ending = false;
  private closeReason: MllpDisconnectReason = 'peer';
  private closeErrorCode: string | undefined;
  private graceTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: MllpServerConnectionOptions) {
    const { socket } = options;
    this.decoder = new MllpDecoder(
      { frame: (payload) => this.enqueue(payload), frameError: (err) => options.onFrameError(err) },
      { maxFrameBytes: options.maxFrameBytes },
    );
    socket.on('data', (chunk: Buffer) => this.decoder.push(chunk));
    socket.on('end', () => this.onPeerEnd());
    socket.on('error', (err) => this.onSocketError(err));
    socket.on('timeout', () => this.onIdle());
    socket.once('close', () => this.onSocketClose());
    if (options.idleTimeoutMs > 0) socket.setTimeout(options.idleTimeoutMs);
  }

  get context(): MllpConnectionContext {
    return this.options.context;
  }

  /**
   * Stop taking frames, let the frame in progress finish and write its
   * response, then end the connection; destroy it if still open after
   * `closeTimeoutMs`. Frames received but not yet started are dropped: they
   * were never acknowledged, so the sender will deliver them again.
   * @param reason - reported in the `disconnect` event
   */
  end(reason: MllpDisconnectReason): void {
    if (this.ending) return;
    this.ending = true;
    this.closeReason = reason;
    this.queue.length = 0;
    this.options.socket.pause();
    this.graceTimer = setTimeout(() => this.destroy(reason), this.options.closeTimeoutMs);
    this.graceTimer.unref();
    if (!this.busy) this.options.socket.end();
  }

  /**
   * Close at once, without waiting for the frame in progress.
   * @param reason - reported in the `disconnect` event
   */
  destroy(reason: MllpDisconnectReason): void {
    if (!this.options.socket.destroyed) this.closeReason = reason;
    this.queue.length = 0;
    this.options.socket.destroy();
  }

  private enqueue(payload: Buffer): void {
    if (this.ending) return;
    this.queue.push(payload);
    if (this.queue.length >= MAX_PENDING_FRAMES) this.options.socket.pause();
    if (!this.busy) void this.drain();
  }

  private async drain(): Promise<void> {
    const { socket, context, handler, logger } = this.options;
    this.busy = true;
    let payload: Buffer | undefined;
    while ((payload = this.queue.shift()) !== undefined) {
      if (socket.destroyed) break;
      let response: Buffer | undefined;
      try {
        const result = await handler(payload, context);
        response = result === undefined ? undefined : frame(result);
      } catch (err) {
        this.busy = false;
        this.failHandler(err);
        return;
      }
      if (response !== undefined && socket.writable) socket.write(response);
      if (this.queue.length < MAX_PENDING_FRAMES && !this.ending && socket.isPaused()) socket.resume();
    }
    this.busy = false;
    if (socket.destroyed) return;
    if (this.ending || this.peerEnded) {
      socket.end();
      return;
    }
    // A handler that returned nothing wrote nothing, which would not refresh
    // the idle timer; re-arm it so a slow handler never counts as idleness.
    if (this.options.idleTimeoutMs > 0) socket.setTimeout(this.options.idleTimeoutMs);
    logger.debug('mllp connection drained', { connectionId: context.connectionId });
  }

  private failHandler(err: unknown): void {
    const { connectionId } = this.options.context;
    const error = new MllpHandlerError(`frame handler failed on connection ${connectionId}; closing it so the sender retries`, connectionId, err);
    this.closeErrorCode = error.code;
    this.options.onHandlerError(error);
    this.destroy('handler-error');
  }

  private onPeerEnd(): void {
    // The peer half-closed: it sends no more, but may still read the ACKs for
    // frames it already sent (the server is created with allowHalfOpen).
    this.peerEnded = true;
    this.decoder.end();
    if (!this.busy && this.queue.length === 0) this.options.socket.end();
  }

  private onIdle(): void {
    if (this.busy || this.ending) return;
    this.options.logger.info('mllp connection idle; closing', {
      connectionId: this.options.context.connectionId,
      idleTimeoutMs: this.options.idleTimeoutMs,
    });
    this.end('idle');
  }

  private onSocketError(err: Error): void {
    if (!this.ending) this.closeReason = 'error';
    this.closeErrorCode ??= (err as NodeJS.ErrnoException).code ?? err.name;
    this.options.logger.debug('mllp connection error', {
      connectionId: this.options.context.connectionId,
      ...summarizeError(err),
    });
  }

  private onSocketClose(): void {
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.queue.length = 0;
    if (!this.peerEnded) this.decoder.end();
    this.options.onClose(this.closeReason, this.closeErrorCode);
  }
}
