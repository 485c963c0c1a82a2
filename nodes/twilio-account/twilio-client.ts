import { createTwilioClient } from '../../adapters/twilio';
import type { TwilioClientOptions, TwilioSmsDeps } from '../../adapters/twilio';

/** The Twilio SDK client type, named through the adapter so nodes never import the SDK. */
export type TwilioSdk = NonNullable<TwilioSmsDeps['client']>;
export type TwilioClientFactory = (options: TwilioClientOptions) => TwilioSdk;

// An operator's setting (environment), not an editor one: an egress gateway, or the loopback fake of tests that run the hub as a process.
const productionFactory: TwilioClientFactory = (options) => createTwilioClient({ ...options, ...(process.env.HUB_TWILIO_API_URL ? { apiBaseUrl: process.env.HUB_TWILIO_API_URL } : {}) });
let factory: TwilioClientFactory = productionFactory;

/**
 * The one seam for tests: e.g. `(o) => createTwilioClient({ ...o, apiBaseUrl: fake.baseUrl })`.
 * Not an editor setting on purpose: an API origin there would let whoever
 * edits flows send the auth token elsewhere.
 * @param next - the factory; omit to restore the production one
 */
export function setTwilioClientFactory(next?: TwilioClientFactory): void {
  factory = next ?? productionFactory;
}

/** @param options - account SID and auth token from the twilio-account node */
export function twilioClient(options: TwilioClientOptions): TwilioSdk {
  return factory(options);
}
