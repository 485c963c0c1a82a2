import { frameChecksum } from './checksum';
import { ETB, ETX, STX } from './control-characters';
import type { OutboundFrame } from './frame-encoder';

/** One frame of a raw E1381 capture, with the bytes that followed it up to the next STX. */
export interface CaptureFrame extends OutboundFrame {
  /** The checksum written in the capture. */
  checksum: string;
  /** The checksum the E1381 §6.3.3 rule gives. */
  expectedChecksum: string;
  /** What followed C2 in the capture: `\r\n`, `\n`, `\r` or `` (corpus SOURCES.md quirks). */
  trailer: string;
  /** The frame text (between FN and ETX/ETB). */
  text: Buffer;
}

/**
 * Split a raw E1381 capture (`.e1381` corpus files: frames only, without
 * the ENQ/ACK/EOT handshake) into frames, byte-exact: each frame keeps
 * whatever trailer followed it in the file, so replaying the frames puts
 * the captured bytes on the wire unchanged.
 *
 * @param bytes - the capture
 * @throws RangeError when the capture holds bytes outside frames or a frame without ETX/ETB and checksum
 */
export function splitCapture(bytes: Uint8Array): CaptureFrame[] {
  const frames: CaptureFrame[] = [];
  let message = 0;
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] !== STX) throw new RangeError(`capture byte ${i} is outside any frame`);
    let end = i + 1;
    while (end < bytes.length && bytes[end] !== ETX && bytes[end] !== ETB) end++;
    if (end + 2 > bytes.length - 1) throw new RangeError(`frame at byte ${i} has no end`);
    let next = end + 3;
    while (next < bytes.length && bytes[next] !== STX) next++;
    const slice = Buffer.from(bytes.subarray(i, next));
    const fnByte = bytes[i + 1]!;
    const final = bytes[end] === ETX;
    frames.push({
      frameNumber: fnByte - 0x30,
      bytes: slice,
      final,
      message,
      checksum: Buffer.from(bytes.subarray(end + 1, end + 3)).toString('latin1'),
      expectedChecksum: frameChecksum(bytes, i + 1, end),
      trailer: Buffer.from(bytes.subarray(end + 3, next)).toString('latin1'),
      text: Buffer.from(bytes.subarray(i + 2, end)),
    });
    if (final) message++;
    i = next;
  }
  return frames;
}
