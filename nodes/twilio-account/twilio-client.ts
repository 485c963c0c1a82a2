import { createTwilioClient } from '../../adapters/twilio';
import type { TwilioClientOptions, TwilioSmsDeps } from '../../adapters/twilio';

/** The Twilio SDK client type, named through the adapter so nodes never import the SDK. */
export type TwilioSdk = NonNullable<TwilioSmsDeps['client']>;
export type TwilioClientFactory = (options: TwilioClientOptions) => TwilioSdk;

const productionFactory: TwilioClientFactory = (options) => createTwilioClient(options);
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
