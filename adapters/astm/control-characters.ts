/**
 * ASTM E1381-95 / CLSI LIS1-A control characters and frame limits.
 *
 * A frame is `STX FN text ETB|ETX C1 C2 CR LF` (E1381 §6.3.1): FN is one ASCII
 * digit, C1 C2 the checksum as two upper-case hex digits.
 */
export const ENQ = 0x05;
export const ACK = 0x06;
export const NAK = 0x15;
export const EOT = 0x04;
export const STX = 0x02;
export const ETX = 0x03;
export const ETB = 0x17;
export const CR = 0x0d;
export const LF = 0x0a;

/** E1381 §6.3.1: at most 247 characters per frame, overhead included. */
export const MAX_FRAME_BYTES = 247;
/** STX, FN, ETX/ETB, C1, C2, CR, LF. */
export const FRAME_OVERHEAD_BYTES = 7;
/** So at most 240 text characters per frame; longer messages go in several frames. */
export const MAX_FRAME_TEXT_BYTES = MAX_FRAME_BYTES - FRAME_OVERHEAD_BYTES;

/**
 * E1381 §6.6 restricted message characters: they may not appear in message
 * text because the link layer gives them meaning (SOH STX ETX EOT ENQ ACK
 * DLE NAK SYN ETB LF DC1-DC4). CR is allowed: it ends each E1394 record.
 */
const RESTRICTED = new Set([0x01, STX, ETX, EOT, ENQ, ACK, 0x10, NAK, 0x16, ETB, LF, 0x11, 0x12, 0x13, 0x14]);

/** @returns index of the first restricted byte in `text`, or -1. */
export function findRestrictedByte(text: Uint8Array): number {
  for (let i = 0; i < text.length; i++) if (RESTRICTED.has(text[i]!)) return i;
  return -1;
}
