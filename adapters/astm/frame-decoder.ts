import { CR, ENQ, EOT, ETB, ETX, LF, STX } from './control-characters';

/** A complete frame as it arrived; judged (checksum, size) but not yet accepted. */
export interface ReceivedFrame {
  /** 0..7, or undefined when the FN byte is not a digit 0-7. */
  frameNumber: number | undefined;
  /** The text between FN and ETX/ETB. */
  text: Buffer;
  /** Ended in ETX (last frame of an E1381 message) rather than ETB. */
  final: boolean;
  checksumOk: boolean;
  /**
   * Frame size from STX through C2 (the trailer varies, see the class note).
   * Above 245, i.e. 247 with CR LF, breaks E1381 §6.3.1 (seen from cobas c311, GeneXpert).
   */
  bytes: number;
  /** Exceeded the decoder's hard cap; its text was not kept. */
  overflow: boolean;
}

export type LinkToken =
  /** ENQ, ACK, NAK or EOT outside a frame. */
  | { kind: 'control'; byte: number }
  | { kind: 'frame'; frame: ReceivedFrame }
  /** A frame cut off by STX, ENQ or EOT before its end; `bytes` were dropped. */
  | { kind: 'truncated'; bytes: number }
  /** Any other byte outside a frame (CR and LF after a checksum are skipped silently). */
  | { kind: 'noise'; byte: number };

type State = 'idle' | 'text' | 'c1' | 'c2';

/** Default hard cap on one received frame: far above the 4.3 KB GeneXpert frame, far below memory trouble. */
export const MAX_RECEIVE_FRAME_BYTES = 64 * 1024;

/**
 * Turns the received byte stream into link tokens. Lenient where real
 * instruments are (corpus SOURCES.md): oversize frames are accepted up to a
 * hard cap, and CR LF, LF alone, CR alone or nothing may follow the
 * checksum: a frame is complete after C2, and stray CR/LF between frames are
 * skipped. E1381 §6.3.1 lets a receiver ignore characters outside frames.
 */
export class FrameDecoder {
  private state: State = 'idle';
  private buf: Buffer;
  private length = 0;
  private frameBytes = 0;
  private sum = 0;
  private overflow = false;
  private final = false;
  private c1 = 0;

  /**
   * @param maxFrameBytes - frames larger than this are reported with `overflow` and their text dropped
   */
  constructor(private readonly maxFrameBytes: number = MAX_RECEIVE_FRAME_BYTES) {
    this.buf = Buffer.allocUnsafe(Math.min(1024, maxFrameBytes));
  }

  /** True while a frame has started but not ended. */
  get inFrame(): boolean {
    return this.state !== 'idle';
  }

  /** Drop a frame in progress (connection lost, session reset). */
  reset(): void {
    this.state = 'idle';
    this.length = 0;
  }

  /**
   * @param chunk - bytes as read from the transport
   * @returns the tokens completed by this chunk, in order
   */
  push(chunk: Uint8Array): LinkToken[] {
    const tokens: LinkToken[] = [];
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.state) {
        case 'idle':
          if (b === STX) this.startFrame();
          else if (b === ENQ || b === EOT || b === 0x06 || b === 0x15) tokens.push({ kind: 'control', byte: b });
          else if (b !== CR && b !== LF) tokens.push({ kind: 'noise', byte: b });
          break;
        case 'text':
          if (b === STX || b === ENQ || b === EOT) {
            tokens.push({ kind: 'truncated', bytes: this.frameBytes });
            this.state = 'idle';
            i--; // re-read it as the start of what comes next
          } else {
            this.frameBytes++;
            this.sum = (this.sum + b) & 0xff;
            if (b === ETX || b === ETB) {
              this.final = b === ETX;
              this.state = 'c1';
            } else if (!this.overflow) {
              this.append(b);
            }
          }
          break;
        case 'c1':
          this.c1 = b;
          this.frameBytes++;
          this.state = 'c2';
          break;
        case 'c2':
          this.frameBytes++;
          tokens.push({ kind: 'frame', frame: this.finish(b) });
          this.state = 'idle';
          break;
      }
    }
    return tokens;
  }

  private startFrame(): void {
    this.state = 'text';
    this.length = 0;
    this.frameBytes = 1;
    this.sum = 0;
    this.overflow = false;
  }

  private append(b: number): void {
    if (this.frameBytes > this.maxFrameBytes) {
      this.overflow = true;
      return;
    }
    if (this.length === this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.min(this.buf.length * 2, this.maxFrameBytes));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    this.buf[this.length++] = b;
  }

  private finish(c2: number): ReceivedFrame {
    const expected = this.sum.toString(16).toUpperCase().padStart(2, '0');
    // Upper-case per E1381; lower-case hex is accepted (same value).
    const got = String.fromCharCode(this.c1, c2).toUpperCase();
    const fnByte = this.length > 0 ? this.buf[0]! : -1;
    const frameNumber = fnByte >= 0x30 && fnByte <= 0x37 ? fnByte - 0x30 : undefined;
    return {
      frameNumber,
      text: this.overflow ? Buffer.alloc(0) : Buffer.from(this.buf.subarray(Math.min(1, this.length), this.length)),
      final: this.final,
      checksumOk: !this.overflow && got === expected,
      bytes: this.frameBytes,
      overflow: this.overflow,
    };
  }
}
