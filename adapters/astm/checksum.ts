/**
 * E1381 §6.3.3 frame checksum: the sum of the byte values from FN through
 * ETX/ETB inclusive (STX excluded), modulo 256, written as two upper-case
 * hex digits. Verified against every capture in the shared corpus.
 *
 * @param bytes - buffer holding the frame
 * @param from - index of the FN byte
 * @param to - index of the ETX/ETB byte (inclusive)
 */
export function frameChecksum(bytes: Uint8Array, from: number, to: number): string {
  let sum = 0;
  for (let i = from; i <= to; i++) sum = (sum + bytes[i]!) & 0xff;
  return sum.toString(16).toUpperCase().padStart(2, '0');
}
