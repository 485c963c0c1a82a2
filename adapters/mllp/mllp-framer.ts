import { MllpFrameError } from './errors';
import type { MllpFrameErrorKind } from './errors';

/**
 * MLLP release 2 framing (HL7 Version 3 Standard "Transport Specification -
 * MLLP, Release 2"; HL7 v2.x Appendix C, lower layer protocols): a block is
 *
 *   <SB> payload <EB><CR>      SB = VT 0x0B, EB = FS 0x1C, CR = 0x0D
 *
 * The payload may not contain SB or EB, so both are unambiguous. Payload bytes
 * are never decoded here: the charset is only known once MSH-18 is read, by a
 * higher layer. This also rules out UTF-16/UTF-32 payloads, which MLLP cannot
 * carry anyway because their code units can contain 0x0B and 0x1C.
 */
export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

/** Default upper bound for one payload; a defence against unbounded buffering. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Wrap a payload in an MLLP block.
 *
 * Payloads containing SB or EB are refused instead of being sent: the peer
 * would split them into several frames, which is both data corruption and a
 * way to inject a forged message.
 *
 * @param payload - the message bytes; a string is encoded with `encoding`
 * @param encoding - only for strings; pass a Buffer when MSH-18 names a charset other than UTF-8/ASCII
 */
export function frame(payload: Buffer | string, encoding: BufferEncoding = 'utf8'): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, encoding) : payload;
  if (body.indexOf(START_BLOCK) !== -1 || body.indexOf(END_BLOCK) !== -1) {
    throw new MllpFrameError(
      `payload of ${body.length} bytes contains an MLLP block character (0x0B or 0x1C) and cannot be framed`,
      'invalid-payload',
      body.length,
    );
  }
  const out = Buffer.allocUnsafe(body.length + 3);
  out[0] = START_BLOCK;
  body.copy(out, 1);
  out[body.length + 1] = END_BLOCK;
  out[body.length + 2] = CARRIAGE_RETURN;
  return out;
}

export interface MllpDecoderOptions {
  /** Largest payload accepted, in bytes. Default {@link MAX_FRAME_BYTES}. */
  maxFrameBytes?: number;
}

export interface MllpDecoderHandlers {
  /** A complete payload, without SB/EB/CR. The buffer is a copy the receiver owns. */
  frame(payload: Buffer): void;
  /** Bytes that were not delivered, or a tolerated deviation; never fatal. */
  frameError?(error: MllpFrameError): void;
}

export interface MllpDecoderStats {
  frames: number;
  garbageBytes: number;
  oversizeFrames: number;
  truncatedFrames: number;
  missingCr: number;
}

type State = 'between' | 'frame' | 'discard';

/**
 * Streaming MLLP decoder: feed it socket chunks of any size with `push()`.
 *
 * Choices, where the spec leaves room:
 * - EB without CR: the frame is complete at EB and is delivered at once (a
 *   peer waiting for its ACK must not be held up by a CR that may never come).
 *   A CR right after EB, even in the next chunk, is consumed silently; any
 *   other byte is reported as `missing-cr` and then treated as inter-frame
 *   data. EB alone is unambiguous (it cannot occur in a payload), so being
 *   lenient here loses nothing, while rejecting would drop valid messages
 *   from senders that omit the CR.
 * - Bytes outside a frame are dropped and reported as one `garbage` error per
 *   contiguous run (when the next SB arrives, at `end()`, or every
 *   `maxFrameBytes` bytes so an endless non-MLLP stream still shows up).
 * - SB inside a frame means the sender abandoned the frame (typically a
 *   restart after a timeout): the partial frame is reported as `truncated`
 *   and a new frame starts, so one broken frame never swallows the next.
 * - A frame larger than `maxFrameBytes` stops being buffered the moment it
 *   crosses the limit; the rest is counted and skipped up to its EB (or the
 *   next SB), then `oversize` is reported with the frame's full size.
 * - Empty frames (SB EB CR) are delivered as empty payloads; some senders use
 *   them as keep-alives and the decision belongs to the layer above.
 *
 * Cost is linear in the input: each byte is scanned at most twice by
 * `indexOf`, open frames are kept as a list of slices and concatenated once
 * at EB. The slices reference the pushed chunks, so callers must not reuse a
 * chunk's memory after pushing it (net sockets never do).
 */
export class MllpDecoder {
  private readonly maxFrameBytes: number;
  private state: State = 'between';
  private parts: Buffer[] = [];
  private frameBytes = 0;
  private garbageRun = 0;
  private expectCr = false;
  private readonly counters: MllpDecoderStats = {
    frames: 0,
    garbageBytes: 0,
    oversizeFrames: 0,
    truncatedFrames: 0,
    missingCr: 0,
  };

  /**
   * @param handlers - receive frames and framing errors synchronously, from inside `push()`/`end()`
   * @param options - see {@link MllpDecoderOptions}
   */
  constructor(
    private readonly handlers: MllpDecoderHandlers,
    options: MllpDecoderOptions = {},
  ) {
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    if (!Number.isSafeInteger(this.maxFrameBytes) || this.maxFrameBytes < 1) {
      throw new RangeError(`maxFrameBytes must be a positive integer, got ${this.maxFrameBytes}`);
    }
  }

  /** Counters since construction, for metrics. */
  get stats(): Readonly<MllpDecoderStats> {
    return { ...this.counters };
  }

  /** Payload bytes currently held for an open frame (bounded by `maxFrameBytes`). */
  get bufferedBytes(): number {
    return this.state === 'frame' ? this.frameBytes : 0;
  }

  /** True while a frame has started and not yet ended. */
  get inFrame(): boolean {
    return this.state !== 'between';
  }

  /**
   * Feed the next chunk of the byte stream.
   * @param chunk - bytes as read from the socket; any split is fine
   */
  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.expectCr) {
        this.expectCr = false;
        if (chunk[pos] === CARRIAGE_RETURN) {
          pos += 1;
          continue;
        }
        this.missingCr();
      }

      if (this.state === 'between') {
        const start = chunk.indexOf(START_BLOCK, pos);
        this.addGarbage((start === -1 ? chunk.length : start) - pos);
        if (start === -1) return;
        this.flushGarbage();
        this.openFrame();
        pos = start + 1;
        continue;
      }

      const end = chunk.indexOf(END_BLOCK, pos);
      const stop = end === -1 ? chunk.length : end;
      const restart = indexOfIn(chunk, START_BLOCK, pos, stop);
      if (restart !== -1) {
        this.take(chunk, pos, restart);
        this.abandonFrame();
        this.openFrame();
        pos = restart + 1;
        continue;
      }
      this.take(chunk, pos, stop);
      if (end === -1) return;
      pos = end + 1;
      this.expectCr = true;
      this.closeFrame();
    }
  }

  /**
   * The stream ended (socket closed or reset). Reports an unfinished frame,
   * pending garbage and a trailing EB without CR, then starts over clean.
   */
  end(): void {
    if (this.expectCr) {
      this.expectCr = false;
      this.missingCr();
    }
    this.flushGarbage();
    if (this.state !== 'between') this.abandonFrame();
  }

  private openFrame(): void {
    this.state = 'frame';
    this.parts = [];
    this.frameBytes = 0;
  }

  private take(chunk: Buffer, from: number, to: number): void {
    const length = to - from;
    if (length === 0) return;
    this.frameBytes += length;
    if (this.state === 'discard') return;
    if (this.frameBytes > this.maxFrameBytes) {
      this.state = 'discard';
      this.parts = [];
      return;
    }
    this.parts.push(chunk.subarray(from, to));
  }

  private closeFrame(): void {
    const wasDiscarding = this.state === 'discard';
    const payload = wasDiscarding ? undefined : Buffer.concat(this.parts, this.frameBytes);
    const size = this.frameBytes;
    this.reset();
    if (payload === undefined) {
      this.counters.oversizeFrames += 1;
      this.report('oversize', size, `frame of ${size} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
      return;
    }
    this.counters.frames += 1;
    this.handlers.frame(payload);
  }

  private abandonFrame(): void {
    const wasDiscarding = this.state === 'discard';
    const size = this.frameBytes;
    this.reset();
    if (wasDiscarding) {
      this.counters.oversizeFrames += 1;
      this.report('oversize', size, `unterminated frame of ${size} bytes exceeds maxFrameBytes ${this.maxFrameBytes}`);
    } else {
      this.counters.truncatedFrames += 1;
      this.report('truncated', size, `frame abandoned after ${size} bytes without an end block`);
    }
  }

  private reset(): void {
    this.state = 'between';
    this.parts = [];
    this.frameBytes = 0;
  }

  private addGarbage(bytes: number): void {
    this.garbageRun += bytes;
    if (this.garbageRun >= this.maxFrameBytes) this.flushGarbage();
  }

  private flushGarbage(): void {
    if (this.garbageRun === 0) return;
    const bytes = this.garbageRun;
    this.garbageRun = 0;
    this.counters.garbageBytes += bytes;
    this.report('garbage', bytes, `discarded ${bytes} bytes outside an MLLP frame`);
  }

  private missingCr(): void {
    this.counters.missingCr += 1;
    this.report('missing-cr', 0, 'end block not followed by CR; frame accepted');
  }

  private report(kind: MllpFrameErrorKind, bytes: number, message: string): void {
    this.handlers.frameError?.(new MllpFrameError(message, kind, bytes));
  }
}

/** `buf.indexOf(byte, from)` limited to `[from, to)`, without scanning past `to`. */
function indexOfIn(buf: Buffer, byte: number, from: number, to: number): number {
  if (to <= from) return -1;
  const i = buf.subarray(from, to).indexOf(byte);
  return i === -1 ? -1 : from + i;
}
