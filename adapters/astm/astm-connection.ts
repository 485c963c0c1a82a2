import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { findRestrictedByte, MAX_FRAME_TEXT_BYTES } from './control-characters';
import { E1381Link } from './e1381-link';
import type { E1381LinkOptions, E1381Role, ReceiveEndReason, TransmitReport } from './e1381-link';
import { AstmClosedError, AstmConfigError, AstmEncodeError, AstmHandlerError, AstmIncompleteMessageError } from './errors';
import type { AstmFrameError, AstmIncompleteReason, AstmParseError } from './errors';
import type { ReceivedFrame } from './frame-decoder';
import { frameMessages } from './frame-encoder';
import type { OutboundFrame } from './frame-encoder';
import { MessageAssembler } from './message-assembler';
import type { AssembledMessage, AssemblerOutput } from './message-assembler';
import { DUPLICATE_WINDOW_MS, MessageDeduper } from './message-deduper';
import type { AstmMessage } from './message';
import { parseQuery } from './query';
import type { AstmHostQuery, AstmQueryParseOptions } from './query';
import { splitRecordTexts } from './record-stream';
import { serializeMessage } from './serialize';
import { decodeText, encodeText } from './text-encoding';
import type { AstmEncoding } from './text-encoding';
import { systemClock, systemTimers } from './timers';
import type { Clock, Timers } from './timers';

/** Well under Node-RED's 15 s close timeout (STYLE.md §3). */
export const CLOSE_TIMEOUT_MS = 5000;
/** Largest E1394 message accepted: far above a batch of results, far below memory trouble. */
export const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;

/**
 * How outgoing E1394 messages are cut into E1381 messages:
 * - `record`: each record is its own E1381 message (ETX after every record,
 *   ETB frames only for records over 240 bytes), as the cobas and Pentra
 *   captures do;
 * - `message`: the whole H..L message is one E1381 message, packed into
 *   240-byte frames, the last one ending in ETX.
 */
export type AstmFraming = 'record' | 'message';

export interface AstmConnectionOptions extends Omit<E1381LinkOptions, 'role'> {
  /** Default `host`: the hub is the computer system. The simulator runs as `instrument`. */
  role?: E1381Role;
  /** Default `auto` (UTF-8 when valid, else Latin-1). */
  encoding?: AstmEncoding;
  /** A message must end with an L record (default true). False for instruments that send none. */
  requireTerminator?: boolean;
  /** Default `record`. */
  framing?: AstmFraming;
  /** Text bytes per sent frame; default 240 (247-byte frames, E1381 §6.3.1). */
  maxFrameTextBytes?: number;
  /** Default {@link DUPLICATE_WINDOW_MS}; 0 delivers byte-identical re-sends again. Ignored when `deps.deduper` is given. */
  duplicateWindowMs?: number;
  /** Where Q.3 holds the specimen ID, for {@link AstmConnectionOptions.onQuery}. */
  query?: AstmQueryParseOptions;
  /** Default {@link CLOSE_TIMEOUT_MS}. */
  closeTimeoutMs?: number;
  /** A message growing past this is dropped and its frames NAKed. Default {@link MAX_MESSAGE_BYTES}. */
  maxMessageBytes?: number;
}

export interface AstmConnectionDeps {
  timers?: Timers;
  clock?: Clock;
  logger?: Logger;
  /** Shared by the connections of one server, so a re-send on a new connection is caught too. */
  deduper?: MessageDeduper;
}

/** Identity of a connection for events and handlers; never any payload. */
export interface AstmConnectionInfo {
  id: number;
  remoteAddress?: string;
  remotePort?: number;
}

/** One E1394 message delivered to the handler. */
export interface AstmReceivedMessage extends AssembledMessage {
  connection: AstmConnectionInfo;
  /** ISO time the message was complete. */
  receivedAt: string;
  /** SHA-256 of `text`: the duplicate-suppression key, usable as an idempotency key. */
  key: string;
  /** How the bytes were read (see AstmEncoding). */
  charset: 'utf8' | 'latin1';
}

/**
 * Called for every complete message. The ACK of the frame that completed it
 * waits for the returned promise; a rejection NAKs that frame, so the
 * instrument retransmits and the message comes again (nothing is lost while
 * the instrument retries). It must settle well within the sender's 15 s
 * reply timer, and must not wait for a `send()` on the same connection:
 * that send needs the line, which this session still holds (answer queries
 * through {@link AstmQueryHandler}, or send without awaiting).
 */
export type AstmMessageHandler = (message: AstmReceivedMessage) => void | Promise<void>;

/**
 * Answers host queries: called after a message with Q records has been
 * delivered, once per Q record. Resolve with the E1394 text to send back
 * (e.g. from buildQueryResponse) or undefined to send nothing. The answer is
 * sent in a new session as soon as the line is free.
 */
export type AstmQueryHandler = (query: AstmHostQuery, context: { message: AstmMessage; connection: AstmConnectionInfo }) => Promise<string | undefined> | string | undefined;

export interface AstmSendReport extends TransmitReport {
  messages: number;
  records: number;
}

export interface AstmSessionInfo {
  connection: AstmConnectionInfo;
  reason: ReceiveEndReason;
  /** Messages delivered in this session. */
  delivered: number;
}

export interface AstmConnectionEvents {
  sessionStart: [connection: AstmConnectionInfo];
  sessionEnd: [info: AstmSessionInfo];
  /** A message was handed to the handler and it resolved. */
  delivered: [info: { connection: AstmConnectionInfo; key: string; records: number; bytes: number }];
  /** A byte-identical message inside the duplicate window: acknowledged, not delivered again. */
  duplicate: [info: { connection: AstmConnectionInfo; key: string; records: number; bytes: number }];
  /** Records discarded because their message never completed (with the reason). */
  incomplete: [error: AstmIncompleteMessageError, connection: AstmConnectionInfo];
  parseError: [error: AstmParseError, connection: AstmConnectionInfo];
  frameError: [error: AstmFrameError, connection: AstmConnectionInfo];
  /** The handler rejected; the frame was NAKed (or, after EOT, the message is lost unless re-sent). */
  handlerError: [error: AstmHandlerError, connection: AstmConnectionInfo];
  /** The query handler failed or its answer could not be sent. */
  queryError: [error: Error, connection: AstmConnectionInfo];
  contention: [connection: AstmConnectionInfo];
  /** An accepted frame above the 247-byte limit (E1381 §6.3.1), received leniently. */
  oversizeFrame: [bytes: number, connection: AstmConnectionInfo];
  close: [reason: 'closed' | 'disconnected', connection: AstmConnectionInfo];
}

/** A connection's events that the server and the client/serial links pass on as their own (all but `close`). */
export type ForwardedConnectionEvents = Omit<AstmConnectionEvents, 'close'>;

export const FORWARDED_CONNECTION_EVENTS: readonly (keyof ForwardedConnectionEvents)[] = [
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

let nextConnectionId = 1;

/**
 * ASTM over one byte stream: a TCP socket, a serial port, or an in-memory
 * duplex in tests. E1381 link below, E1394 messages above:
 *
 * - receiving: frames are joined up to ETX (a record may break anywhere,
 *   even mid-field), the text is split into records, records are grouped
 *   into H..L messages, and each complete message goes to the handler before
 *   the frame that completed it is acknowledged;
 * - sending: E1394 text is framed and sent in one session per `send()`.
 */
export class AstmConnection extends EventEmitter<AstmConnectionEvents> {
  readonly info: AstmConnectionInfo;
  readonly link: E1381Link;
  private readonly logger: Logger;
  private readonly timers: Timers;
  private readonly clock: Clock;
  private readonly deduper: MessageDeduper;
  private readonly assembler: MessageAssembler;
  private readonly encoding: AstmEncoding;
  private readonly framing: AstmFraming;
  private readonly maxFrameTextBytes: number;
  private readonly closeTimeoutMs: number;
  /** Text of the ETB frames of the E1381 message in progress. */
  private pendingText: Buffer[] = [];
  private readonly sessionKeys = new Set<string>();
  private deliveredInSession = 0;
  private closePromise: Promise<void> | undefined;
  private streamClosed = false;
  private latin1InMessage = false;
  private refusing = false;

  /**
   * @param stream - the transport, already connected
   * @param handler - receives every complete message; see {@link AstmMessageHandler}
   * @param options - see {@link AstmConnectionOptions}
   * @param deps - timers, clock, logger, shared deduper
   */
  constructor(
    private readonly stream: Duplex,
    private readonly handler: AstmMessageHandler,
    private readonly options: AstmConnectionOptions & { onQuery?: AstmQueryHandler } = {},
    deps: AstmConnectionDeps = {},
  ) {
    super();
    const socket = stream as Partial<{ remoteAddress: string; remotePort: number }>;
    this.info = {
      id: nextConnectionId++,
      ...(socket.remoteAddress ? { remoteAddress: socket.remoteAddress } : {}),
      ...(socket.remotePort ? { remotePort: socket.remotePort } : {}),
    };
    this.logger = deps.logger ?? silentLogger;
    this.timers = deps.timers ?? systemTimers;
    this.clock = deps.clock ?? systemClock;
    this.deduper = deps.deduper ?? new MessageDeduper(options.duplicateWindowMs ?? DUPLICATE_WINDOW_MS, this.clock);
    this.assembler = new MessageAssembler(options.requireTerminator ?? true);
    this.encoding = options.encoding ?? 'auto';
    this.framing = options.framing ?? 'record';
    this.maxFrameTextBytes = options.maxFrameTextBytes ?? MAX_FRAME_TEXT_BYTES;
    this.closeTimeoutMs = options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS;
    if (!['auto', 'utf8', 'latin1'].includes(this.encoding)) throw new AstmConfigError('encoding must be auto, utf8 or latin1', 'encoding');
    if (!['record', 'message'].includes(this.framing)) throw new AstmConfigError('framing must be record or message', 'framing');
    if (!(this.maxFrameTextBytes >= 1)) throw new AstmConfigError('maxFrameTextBytes must be at least 1', 'maxFrameTextBytes');

    this.link = new E1381Link(
      { ...options, role: options.role ?? 'host' },
      (frame) => this.onFrame(frame),
      {
        write: (bytes) => {
          if (this.streamClosed || this.stream.destroyed || !this.stream.writable) throw new Error('stream is not writable');
          this.stream.write(bytes);
        },
        timers: this.timers,
        clock: this.clock,
        logger: this.logger,
      },
    );
    this.link.on('receiveStart', () => {
      this.refusing = false;
      this.sessionKeys.clear();
      this.deliveredInSession = 0;
      this.emit('sessionStart', this.info);
    });
    this.link.on('receiveEnd', (reason) => this.onReceiveEnd(reason));
    this.link.on('frameError', (err) => {
      if (err.kind !== 'handler') this.emit('frameError', err, this.info);
    });
    this.link.on('contention', () => this.emit('contention', this.info));
    this.link.on('oversizeFrame', (bytes) => this.emit('oversizeFrame', bytes, this.info));

    stream.on('data', (chunk: Buffer | string) => this.link.receive(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk));
    stream.on('error', (err) => this.logger.warn('astm stream error', { connection: this.info.id, ...summarizeError(err) }));
    stream.on('close', () => this.onStreamClosed());
    stream.on('end', () => {
      // The peer half-closed: nothing more will arrive, and E1381 needs replies.
      this.stream.end();
    });
  }

  /** Counters of the link (bytes, frames, sessions). */
  get stats(): E1381Link['stats'] {
    return this.link.stats;
  }

  /** False once closed or disconnected. */
  get open(): boolean {
    return !this.streamClosed && !this.closePromise;
  }

  /**
   * Send E1394 messages in one E1381 session (queued behind a session being
   * received: a query answer goes out after the instrument's EOT).
   *
   * @param messages - E1394 texts (records ended by CR) or parsed/built messages
   * @returns what it took (frames, retransmissions, round trips)
   * @throws AstmEncodeError before anything is sent when a text holds an E1381 restricted character;
   *   AstmTimeoutError, AstmRejectedError, AstmClosedError from the link
   */
  async send(messages: readonly (string | AstmMessage)[]): Promise<AstmSendReport> {
    const { frames, messages: count, records } = this.frame(messages);
    const report = await this.link.transmit(frames);
    return { ...report, messages: count, records };
  }

  /**
   * The frames {@link send} would put on the wire for these messages, by
   * this connection's framing, frame size and encoding.
   *
   * @param messages - E1394 texts or messages
   * @throws AstmEncodeError when a text holds an E1381 restricted character
   */
  frame(messages: readonly (string | AstmMessage)[]): { frames: OutboundFrame[]; messages: number; records: number } {
    const texts = messages.map((m) => (typeof m === 'string' ? m : serializeMessage(m)));
    const pieces: Buffer[] = [];
    let records = 0;
    for (const text of texts) {
      const lines = splitRecordTexts(text);
      records += lines.length;
      const units = this.framing === 'record' ? lines.map((l) => l + '\r') : [lines.map((l) => l + '\r').join('')];
      for (const unit of units) {
        const bytes = encodeText(unit, this.encoding);
        const bad = findRestrictedByte(bytes);
        if (bad >= 0) throw new AstmEncodeError(`message text holds a restricted control character at byte ${bad}`, bad);
        pieces.push(bytes);
      }
    }
    return { frames: frameMessages(pieces, this.maxFrameTextBytes), messages: texts.length, records };
  }

  /**
   * Send frames exactly as given (a capture replay in the simulator).
   *
   * @param frames - frames with their own numbering, checksums and trailers
   */
  sendFrames(frames: readonly OutboundFrame[]): Promise<TransmitReport> {
    return this.link.transmit(frames);
  }

  /**
   * End the connection: queued sends reject, a message being received is
   * reported incomplete, the stream is ended and destroyed after
   * `closeTimeoutMs`. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closePromise ??= this.shutdown();
    return this.closePromise;
  }

  private async shutdown(): Promise<void> {
    this.link.close('closed');
    if (this.streamClosed) return;
    const closed = new Promise<void>((resolve) => this.stream.once('close', () => resolve()));
    this.stream.end();
    const timer = this.timers.setTimeout(() => this.stream.destroy(), this.closeTimeoutMs);
    await closed;
    this.timers.clearTimeout(timer);
  }

  private onStreamClosed(): void {
    if (this.streamClosed) return;
    this.streamClosed = true;
    const reason = this.closePromise ? 'closed' : 'disconnected';
    this.link.close(reason);
    this.emit('close', reason, this.info);
  }

  // ------------------------------------------------------------- receiving

  private async onFrame(frame: ReceivedFrame): Promise<void> {
    // After an oversize message every frame of the session is refused, so the sender fails visibly.
    if (this.refusing) throw new AstmIncompleteMessageError('session refused after an oversize message', 'too-large', 0, 0);
    const held = this.pendingText.reduce((n, b) => n + b.length, 0) + this.assembler.pendingLength;
    if (held + frame.text.length > (this.options.maxMessageBytes ?? MAX_MESSAGE_BYTES)) {
      // A peer that never ends its message must not exhaust memory: drop it and refuse the frame.
      const open = this.assembler.discard();
      this.pendingText = [];
      const error = new AstmIncompleteMessageError(`message larger than ${this.options.maxMessageBytes ?? MAX_MESSAGE_BYTES} bytes discarded`, 'too-large', open?.records ?? 0, held);
      this.logger.warn('astm message too large; discarded', { connection: this.info.id, bytes: held });
      this.emit('incomplete', error, this.info);
      this.refusing = true;
      throw error;
    }
    this.pendingText.push(frame.text);
    if (!frame.final) return;
    const before = { text: this.pendingText.slice(0, -1), assembler: this.assembler.snapshot() };
    const bytes = Buffer.concat(this.pendingText);
    this.pendingText = [];
    const { text, charset } = decodeText(bytes, this.encoding);
    // A message read partly as Latin-1 is reported as Latin-1.
    const latin1Before = this.latin1InMessage;
    if (charset === 'latin1') this.latin1InMessage = true;
    const out = this.assembler.push(text);
    try {
      await this.deliver(out, this.latin1InMessage ? 'latin1' : 'utf8');
    } catch (err) {
      // NAK: the sender retransmits this frame and we see its text again.
      this.pendingText = before.text;
      this.assembler.restore(before.assembler);
      this.latin1InMessage = latin1Before;
      throw err;
    }
    if (this.assembler.pendingRecords === 0) this.latin1InMessage = false;
    this.report(out);
  }

  private async deliver(out: AssemblerOutput, charset: 'utf8' | 'latin1'): Promise<void> {
    for (const assembled of out.complete) {
      const key = MessageDeduper.key(assembled.text);
      const summary = { connection: this.info, key, records: assembled.message.records.length, bytes: Buffer.byteLength(assembled.text) };
      if (this.sessionKeys.has(key) || this.deduper.has(key)) {
        this.logger.info('astm duplicate message not delivered again', { connection: this.info.id, records: summary.records, bytes: summary.bytes });
        this.emit('duplicate', summary);
        continue;
      }
      const received: AstmReceivedMessage = { ...assembled, connection: this.info, receivedAt: new Date(this.clock()).toISOString(), key, charset };
      try {
        await this.handler(received);
      } catch (err) {
        const error = new AstmHandlerError(`message handler failed on connection ${this.info.id}`, err);
        this.logger.warn('astm message handler failed; frame NAKed', { connection: this.info.id, ...summarizeError(err) });
        this.emit('handlerError', error, this.info);
        throw error;
      }
      this.sessionKeys.add(key);
      this.deduper.remember(key);
      this.deliveredInSession++;
      this.emit('delivered', summary);
      if (assembled.message.queries.length > 0 && this.options.onQuery) this.answer(assembled.message);
    }
  }

  private report(out: AssemblerOutput): void {
    for (const problem of out.problems) {
      if (problem instanceof AstmIncompleteMessageError) this.emit('incomplete', problem, this.info);
      else this.emit('parseError', problem as AstmParseError, this.info);
      this.logger.warn('astm records discarded', { connection: this.info.id, ...summarizeError(problem) });
    }
  }

  private onReceiveEnd(reason: ReceiveEndReason): void {
    this.refusing = false;
    const midMessage = this.pendingText.length > 0;
    const pendingBytes = this.pendingText.reduce((n, b) => n + b.length, 0);
    this.pendingText = [];
    if (reason === 'eot' && !midMessage) {
      const out = this.assembler.endSession();
      // Every frame is acknowledged already: a failing handler can only be reported now.
      const charset = this.latin1InMessage ? 'latin1' : 'utf8';
      this.latin1InMessage = false;
      void this.deliver(out, charset).then(
        () => this.report(out),
        () => this.report(out),
      );
    } else {
      // EOT or a new ENQ after an ETB frame: the sender gave up mid-message.
      const why: AstmIncompleteReason = reason === 'eot' || reason === 'reset' ? 'aborted' : reason;
      const open = this.assembler.discard();
      this.latin1InMessage = false;
      const records = (open?.records ?? 0) + (midMessage ? 1 : 0);
      if (records > 0) {
        const error = new AstmIncompleteMessageError(`incomplete message (${records} records) discarded: ${why}`, why, records, (open?.bytes ?? 0) + pendingBytes);
        this.logger.warn('astm incomplete message discarded', { connection: this.info.id, reason: why, records });
        this.emit('incomplete', error, this.info);
      }
    }
    this.emit('sessionEnd', { connection: this.info, reason, delivered: this.deliveredInSession });
  }

  private answer(message: AstmMessage): void {
    const onQuery = this.options.onQuery!;
    for (const q of message.queries) {
      void (async () => {
        const query = parseQuery(q.record, message.delimiters, this.options.query);
        const reply = await onQuery(query, { message, connection: this.info });
        if (reply !== undefined && !this.link.closed) await this.send([reply]);
      })().catch((err: unknown) => {
        this.logger.warn('astm query answer failed', { connection: this.info.id, ...summarizeError(err) });
        this.emit('queryError', err instanceof Error ? err : new AstmClosedError('query answer failed'), this.info);
      });
    }
  }
}
