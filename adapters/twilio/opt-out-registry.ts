import { createHmac } from 'node:crypto';
import { ProviderConfigError } from '../phi-guard/errors';

/** Who changed a consent: the patient by keyword, the provider (Twilio error 21610), or staff. */
export type OptOutSource = 'keyword' | 'provider' | 'operator';

/**
 * Patients who asked not to be texted, checked before every send. Changes are
 * ordered by their time: a change older than the one recorded is ignored, so
 * a STOP and a START processed out of order end where the patient left it.
 */
export interface OptOutRegistry {
  /** @param address - E.164 phone number */
  isOptedOut(address: string): Promise<boolean>;
  /**
   * @param address - E.164 phone number
   * @param at - when the patient asked
   * @param source - keyword, provider or operator
   */
  optOut(address: string, at: Date, source: OptOutSource): Promise<void>;
  /**
   * @param address - E.164 phone number
   * @param at - when the patient asked
   * @param source - keyword, provider or operator
   */
  optIn(address: string, at: Date, source: OptOutSource): Promise<void>;
  close(): Promise<void>;
}

/** One stored consent state, keyed by the hashed number (see {@link optOutKey}). */
export interface OptOutEntry {
  addressKey: string;
  optedOut: boolean;
  changedAt: number;
  source: OptOutSource;
}

interface Entry {
  optedOut: boolean;
  at: number;
}

/** The reference {@link OptOutRegistry}; forgets on restart, so production uses `SqliteOptOutRegistry`. */
export class InMemoryOptOutRegistry implements OptOutRegistry {
  private readonly entries = new Map<string, Entry>();

  async isOptedOut(address: string): Promise<boolean> {
    return this.entries.get(address)?.optedOut ?? false;
  }

  async optOut(address: string, at: Date): Promise<void> {
    this.set(address, true, at);
  }

  async optIn(address: string, at: Date): Promise<void> {
    this.set(address, false, at);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private set(address: string, optedOut: boolean, at: Date): void {
    const current = this.entries.get(address);
    if (current && current.at > at.getTime()) return;
    this.entries.set(address, { optedOut, at: at.getTime() });
  }
}

/**
 * How a phone number is stored: HMAC-SHA256(secret, number), never the
 * number (a phone number is PHI next to a clinic's name). Domain-separated,
 * so the hub's patient-key secret may be reused.
 * @param secret - at least 32 bytes (see {@link checkedSecret})
 * @param address - E.164 phone number
 */
export function optOutKey(secret: Buffer, address: string): string {
  return createHmac('sha256', secret).update('sms-opt-out\u0000').update(address).digest('hex');
}

/** @returns the secret, once it is a Buffer of at least 32 bytes */
export function checkedSecret(secret: Buffer): Buffer {
  if (!Buffer.isBuffer(secret) || secret.length < 32) throw new ProviderConfigError('opt-out registry secret must be at least 32 bytes');
  return secret;
}
