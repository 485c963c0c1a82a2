import { frameChecksum } from './checksum';
import { CR, ETB, ETX, FRAME_OVERHEAD_BYTES, LF, MAX_FRAME_TEXT_BYTES, STX } from './control-characters';

/** One frame ready for the wire, with what the sender needs to report on it. */
export interface OutboundFrame {
  /** 0..7 (E1381 §6.3.2). */
  frameNumber: number;
  bytes: Buffer;
  /** ETX: the last frame of an E1381 message. ETB: more frames of it follow. */
  final: boolean;
  /** Index of the message (in the list given to {@link frameMessages}) this frame carries. */
  message: number;
}

/**
 * Build one frame: `STX FN text ETB|ETX C1 C2 CR LF`.
 *
 * @param frameNumber - 0..7
 * @param text - frame text (no restricted characters; see control-characters.ts)
 * @param final - true for ETX, false for ETB
 */
export function encodeFrame(frameNumber: number, text: Uint8Array, final: boolean): Buffer {
  const out = Buffer.allocUnsafe(text.length + FRAME_OVERHEAD_BYTES);
  out[0] = STX;
  out[1] = 0x30 + (frameNumber & 7);
  out.set(text, 2);
  const end = 2 + text.length;
  out[end] = final ? ETX : ETB;
  out.write(frameChecksum(out, 1, end), end + 1, 'latin1');
  out[end + 3] = CR;
  out[end + 4] = LF;
  return out;
}

/**
 * Split E1381 messages into frames. Frame numbers run on across messages
 * within one session (1..7, 0, 1..), as E1381 §6.3.2 counts frames, not
 * messages. A message longer than `maxTextBytes` is cut into ETB frames and
 * its last piece ends in ETX; the cut may fall anywhere, even inside a
 * record, since the receiver joins frames before splitting records.
 *
 * @param messages - encoded message texts (each E1394 record ends in CR)
 * @param maxTextBytes - text bytes per frame; default 240 (247-byte frames)
 * @param firstFrameNumber - default 1, the first frame of a transfer phase
 */
export function frameMessages(
  messages: readonly Uint8Array[],
  maxTextBytes: number = MAX_FRAME_TEXT_BYTES,
  firstFrameNumber = 1,
): OutboundFrame[] {
  if (!(maxTextBytes >= 1)) throw new RangeError('maxTextBytes must be at least 1');
  const frames: OutboundFrame[] = [];
  let fn = firstFrameNumber & 7;
  messages.forEach((text, message) => {
    let offset = 0;
    do {
      const end = Math.min(text.length, offset + maxTextBytes);
      const final = end === text.length;
      frames.push({ frameNumber: fn, bytes: encodeFrame(fn, text.subarray(offset, end), final), final, message });
      fn = (fn + 1) & 7;
      offset = end;
    } while (offset < text.length);
  });
  return frames;
}
