import { randomBytes } from 'node:crypto';

/** Fresh keys for a test store. */
export function testStoreKeys(): { keys: Record<string, Buffer>; activeKeyId: string; patientKeySecret: Buffer } {
  return { keys: { k1: randomBytes(32) }, activeKeyId: 'k1', patientKeySecret: randomBytes(32) };
}
