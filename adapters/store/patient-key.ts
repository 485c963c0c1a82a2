import { createHmac } from 'node:crypto';

/**
 * Keys computed for recently seen MRNs. A clinic's traffic comes from a few
 * hundred patients in cycle at a time, and setting up an HMAC was ~2% of the
 * MLLP intake's event-loop time (bench:mllp profile). Oldest entry out first.
 */
const CACHE_SIZE = 4096;

/**
 * The searchable patient key: HMAC-SHA256 of the normalized MRN under a hub
 * secret. Equal MRNs give equal keys, so search works, but the store never
 * holds the MRN and a stolen database cannot be reversed by hashing every
 * plausible MRN without the secret.
 */
export function makePatientKeyer(secret: Buffer): (patientId: string) => string {
  const recent = new Map<string, string>();
  return (patientId: string): string => {
    const normalized = patientId.trim().toUpperCase();
    let key = recent.get(normalized);
    if (key === undefined) {
      key = createHmac('sha256', secret).update(normalized).digest('base64url').slice(0, 32);
      if (recent.size >= CACHE_SIZE) recent.delete(recent.keys().next().value!);
      recent.set(normalized, key);
    }
    return key;
  };
}
