import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 8192;
let pool = Buffer.alloc(0);
let offset = POOL_BYTES;

/**
 * Cryptographically random bytes, drawn from a pool refilled 8 KB at a time.
 * Every stored message needs an id and an IV; one OpenSSL call per message
 * each was a tenth of the store's CPU time. Returns a copy the caller owns.
 */
export function randomBytesPooled(n: number): Buffer {
  if (n > POOL_BYTES) return randomFillSync(Buffer.alloc(n));
  if (offset + n > POOL_BYTES) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  // Never hand out the same bytes twice.
  pool.fill(0, offset, offset + n);
  offset += n;
  return out;
}
