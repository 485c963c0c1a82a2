import type { BodyCipher } from '../store/body-cipher';

/**
 * Bodies sealed with the store's {@link BodyCipher} (AES-256-GCM, the message
 * id as associated data), framed with the id of the key that sealed them so
 * keys rotate the way the store's do: `0x01 | keyIdLength | keyId | sealed`.
 * The embedded queue seals every body (they are PHI at rest in the data dir);
 * the broker backends seal only when given a cipher.
 */
const VERSION = 0x01;

export function sealBody(cipher: BodyCipher, id: string, plain: Buffer): Buffer {
  const { keyId, sealed } = cipher.seal(plain, id);
  const kid = Buffer.from(keyId, 'utf8');
  return Buffer.concat([Buffer.from([VERSION, kid.length]), kid, sealed]);
}

export function openBody(cipher: BodyCipher, id: string, envelope: Buffer): Buffer {
  const kidLength = envelope[1] ?? 0;
  if (envelope[0] !== VERSION || envelope.length < 2 + kidLength) {
    // Let the cipher raise its typed error for a malformed body.
    return cipher.open(Buffer.alloc(0), '?', id);
  }
  const keyId = envelope.subarray(2, 2 + kidLength).toString('utf8');
  return cipher.open(envelope.subarray(2 + kidLength), keyId, id);
}
