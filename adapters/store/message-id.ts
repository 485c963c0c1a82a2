import { randomBytesPooled as randomBytes } from './random-pool';

/**
 * UUIDv7 (RFC 9562 §5.7): 48-bit millisecond time then randomness, so ids sort
 * by creation time and index inserts stay append-mostly in both backends.
 */
export function newMessageId(now: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(now, 0, 6);
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isMessageId(s: string): boolean {
  return ID_PATTERN.test(s);
}
