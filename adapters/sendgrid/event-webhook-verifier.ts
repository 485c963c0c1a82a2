import { createPublicKey, verify as verifySignature } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { ProviderConfigError, WebhookPayloadError, WebhookSignatureError, WebhookStaleError } from '../phi-guard/errors';
import { headerValue } from '../phi-guard/headers';
import type { HeaderMap } from '../phi-guard/headers';

export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

export interface EventWebhookVerifierOptions {
  /**
   * The verification key SendGrid shows for the signed event webhook: base64
   * of the DER SubjectPublicKeyInfo (as copied from the settings page), or PEM.
   */
  publicKey: string | KeyObject;
  /** Largest accepted signature age (either direction); default 600 s. */
  toleranceSec?: number;
}

/**
 * SendGrid's signed event webhook, verified with node:crypto (the official
 * `@sendgrid/eventwebhook` helper is not a dependency, and does the same):
 * ECDSA P-256 with SHA-256 over the timestamp header followed by the raw
 * body, signature base64 of the DER encoding.
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 */
export class EventWebhookVerifier {
  private readonly key: KeyObject;
  private readonly toleranceSec: number;

  /** @param options - public key and tolerance */
  constructor(options: EventWebhookVerifierOptions) {
    this.key = parsePublicKey(options.publicKey);
    this.toleranceSec = options.toleranceSec ?? 600;
  }

  /**
   * Checks signature and age, then parses the event batch. Changes nothing.
   * @param rawBody - the request body exactly as received
   * @param headers - the request headers
   * @param now - the time to judge the signature's age by
   * @returns the events (objects; not yet validated beyond that)
   */
  verify(rawBody: Buffer, headers: HeaderMap, now: Date): Record<string, unknown>[] {
    if (!Buffer.isBuffer(rawBody)) throw new WebhookPayloadError('sendgrid', 'body is not the raw bytes');
    const signature = headerValue(headers, SIGNATURE_HEADER);
    const timestamp = headerValue(headers, TIMESTAMP_HEADER);
    if (!signature || !timestamp) throw new WebhookSignatureError('sendgrid', 'missing-signature');
    let valid = false;
    try {
      valid = verifySignature('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), this.key, Buffer.from(signature, 'base64'));
    } catch (err) {
      // A signature that is not DER at all: as bad as a wrong one.
      throw new WebhookSignatureError('sendgrid', 'bad-signature', { cause: err });
    }
    if (!valid) throw new WebhookSignatureError('sendgrid', 'bad-signature');
    const signedAt = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : NaN;
    const ageSec = Math.floor(now.getTime() / 1000) - signedAt;
    if (!Number.isFinite(ageSec) || Math.abs(ageSec) > this.toleranceSec) throw new WebhookStaleError('sendgrid', Number.isFinite(ageSec) ? ageSec : -1);
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawBody.toString('utf8'));
    } catch (err) {
      throw new WebhookPayloadError('sendgrid', 'body is not JSON', { cause: err });
    }
    if (!Array.isArray(parsed) || parsed.some((e) => !e || typeof e !== 'object' || Array.isArray(e))) throw new WebhookPayloadError('sendgrid', 'body is not an array of events');
    return parsed as Record<string, unknown>[];
  }
}

function parsePublicKey(key: string | KeyObject): KeyObject {
  let k: KeyObject;
  try {
    if (typeof key !== 'string') k = key;
    else if (key.includes('-----BEGIN')) k = createPublicKey(key);
    else k = createPublicKey({ key: Buffer.from(key.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
  } catch (err) {
    throw new ProviderConfigError('SendGrid event webhook key is not a public key (base64 DER or PEM)', { cause: err });
  }
  if (k.type !== 'public' || k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ProviderConfigError('SendGrid event webhook key must be an ECDSA P-256 public key');
  }
  return k;
}
