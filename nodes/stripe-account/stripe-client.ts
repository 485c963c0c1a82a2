import { createStripeClient } from '../../adapters/stripe';
import type { StripePaymentDeps } from '../../adapters/stripe';

/** The Stripe SDK client type, named through the adapter so nodes never import the SDK. */
export type StripeSdk = NonNullable<StripePaymentDeps['stripe']>;
export type StripeClientFactory = (secretKey: string) => StripeSdk;

// An operator's setting (environment), not an editor one: an egress gateway, or the loopback fake of tests that run the hub as a process.
const productionFactory: StripeClientFactory = (secretKey) => createStripeClient({ secretKey, ...(process.env.HUB_STRIPE_API_URL ? { apiBaseUrl: process.env.HUB_STRIPE_API_URL } : {}) });
let factory: StripeClientFactory = productionFactory;

/**
 * The one seam for tests: a factory that points the real SDK at a loopback
 * fake (`new Stripe(key, { host, port, protocol: 'http' })`). Not exposed in
 * the editor on purpose: an API host setting would let whoever edits flows
 * send the secret key elsewhere.
 * @param next - the factory; omit to restore the production one
 */
export function setStripeClientFactory(next?: StripeClientFactory): void {
  factory = next ?? productionFactory;
}

/** @param secretKey - from the stripe-account credentials */
export function stripeClient(secretKey: string): StripeSdk {
  return factory(secretKey);
}
