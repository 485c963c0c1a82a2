import { createHmac } from 'node:crypto';

/**
 * The searchable patient key: HMAC-SHA256 of the normalized MRN under a hub
 * secret. Equal MRNs give equal keys, so search works, but the store never
 * holds the MRN and a stolen database cannot be reversed by hashing every
 * plausible MRN without the secret.
 */
export function makePatientKeyer(secret: Buffer): (patientId: string) => string {
  return (patientId: string): string =>
    createHmac('sha256', secret).update(patientId.trim().toUpperCase()).digest('base64url').slice(0, 32);
}
