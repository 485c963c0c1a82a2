import twilio from 'twilio';
import { WebhookPayloadError, WebhookSignatureError } from '../phi-guard/errors';
import { headerValue } from '../phi-guard/headers';
import type { HeaderMap } from '../phi-guard/headers';

export const TWILIO_SIGNATURE_HEADER = 'x-twilio-signature';
const SETTINGS_HEADER = 'x-twilio-webhooks-signature-settings';

/** Webhook parameters as Twilio posted them; a name sent twice becomes an array. */
export type TwilioParams = Record<string, string | string[]>;

/**
 * Checks `X-Twilio-Signature` with twilio-node's own validator: an HMAC of
 * the full URL Twilio requested plus the sorted POST parameters, keyed with
 * the auth token. The URL must be the public one (scheme, host, port, path
 * and query exactly as configured at Twilio), not what a proxy forwarded.
 *
 * Twilio signs no timestamp, so this cannot tell a fresh request from a
 * captured one; the callback handler bounds that with the `issued` time in
 * the status callback URL and with event-id replay checks.
 */
export class TwilioSignatureVerifier {
  /** @param authToken - the account's auth token (the HMAC key) */
  constructor(private readonly authToken: string) {}

  /**
   * Verifies and parses a form-encoded webhook. Changes nothing.
   * @param rawBody - the request body exactly as received
   * @param headers - the request headers
   * @param url - the full public URL Twilio requested, with query
   * @returns the posted parameters
   */
  verify(rawBody: Buffer, headers: HeaderMap, url: string): TwilioParams {
    if (!Buffer.isBuffer(rawBody)) throw new WebhookPayloadError('twilio', 'body is not the raw bytes');
    const signature = headerValue(headers, TWILIO_SIGNATURE_HEADER);
    if (!signature) throw new WebhookSignatureError('twilio', 'missing-signature');
    const algorithm = twilio.getSignatureAlgorithm(headerValue(headers, SETTINGS_HEADER) ?? null);
    // validateRequest warns on the console for unknown algorithms; refuse them here instead.
    if (algorithm !== twilio.HMAC_SHA1 && algorithm !== twilio.HMAC_SHA256) throw new WebhookSignatureError('twilio', 'bad-signature');
    const body = rawBody.toString('utf8');
    let valid: boolean;
    if (/[?&]bodySHA256=/.test(url)) {
      valid = twilio.validateRequestWithBody(this.authToken, signature, url, body, algorithm);
    } else {
      valid = twilio.validateRequest(this.authToken, signature, url, parseForm(body), algorithm);
    }
    if (!valid) throw new WebhookSignatureError('twilio', 'bad-signature');
    return /[?&]bodySHA256=/.test(url) ? {} : parseForm(body);
  }
}

/** `application/x-www-form-urlencoded` into Twilio's parameter object. */
export function parseForm(body: string): TwilioParams {
  const out: TwilioParams = {};
  for (const [k, v] of new URLSearchParams(body)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else out[k] = Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

/** One parameter as a string (the first, when posted twice). */
export function param(params: TwilioParams, name: string): string | null {
  const v = params[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.length > 0 ? s : null;
}
