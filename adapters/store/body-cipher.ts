import { createCipheriv, createDecipheriv } from 'node:crypto';
import { randomBytesPooled as randomBytes } from './random-pool';
import { IntegrationError } from '../shared/errors';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export class CryptoError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CRYPTO', false, options);
  }
}

/**
 * AES-256-GCM for message bodies at rest. Every body records the id of the key
 * that sealed it, so keys rotate by adding a new active key while the old ones
 * stay readable. The message id is the additional authenticated data: a body
 * copied onto another record fails to open.
 */
export class BodyCipher {
  private readonly keys: Map<string, Buffer>;

  /**
   * @param keys - key id → 32-byte key
   * @param activeKeyId - key used for new bodies
   */
  constructor(keys: Record<string, Buffer>, readonly activeKeyId: string) {
    this.keys = new Map(Object.entries(keys));
    for (const [id, key] of this.keys) {
      if (key.length !== KEY_BYTES) throw new CryptoError(`store key ${id} must be ${KEY_BYTES} bytes, got ${key.length}`);
    }
    if (!this.keys.has(activeKeyId)) throw new CryptoError(`active store key ${activeKeyId} is not among the configured keys`);
  }

  seal(plain: Buffer, messageId: string): { keyId: string; sealed: Buffer } {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeKeyId)!, iv);
    cipher.setAAD(Buffer.from(messageId));
    const ct = cipher.update(plain);
    const rest = cipher.final();
    // One copy into the sealed layout (iv | tag | ciphertext) instead of two.
    return { keyId: this.activeKeyId, sealed: Buffer.concat([iv, cipher.getAuthTag(), ct, rest]) };
  }

  /**
   * The keys, for a thread of this process that seals for this cipher (the
   * SQLite writer thread: see StoreBackend.sealBodiesWith). Never logged,
   * stored or sent out of the process.
   */
  keyMaterial(): { keys: Record<string, Uint8Array>; activeKeyId: string } {
    return { keys: Object.fromEntries(this.keys), activeKeyId: this.activeKeyId };
  }

  open(sealed: Buffer, keyId: string, messageId: string): Buffer {
    const key = this.keys.get(keyId);
    if (!key) throw new CryptoError(`store key ${keyId} is not configured; cannot decrypt message ${messageId}`);
    if (sealed.length < IV_BYTES + TAG_BYTES) throw new CryptoError(`body of message ${messageId} is truncated`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(messageId));
      decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new CryptoError(`body of message ${messageId} failed authentication with key ${keyId}`, { cause: err });
    }
  }
}

/** Parses `id:base64,id2:base64`; the first key is the active one. */
export function parseKeyList(spec: string): { keys: Record<string, Buffer>; activeKeyId: string } {
  const keys: Record<string, Buffer> = {};
  let activeKeyId = '';
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const sep = part.indexOf(':');
    if (sep <= 0) throw new CryptoError('each store key must be written id:base64');
    const id = part.slice(0, sep);
    const key = Buffer.from(part.slice(sep + 1), 'base64');
    if (key.length !== KEY_BYTES) throw new CryptoError(`store key ${id} must decode to ${KEY_BYTES} bytes, got ${key.length}`);
    keys[id] = key;
    activeKeyId ||= id;
  }
  if (!activeKeyId) throw new CryptoError('no store key given');
  return { keys, activeKeyId };
}
