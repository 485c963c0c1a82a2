import Stripe from 'stripe';
import { ProviderConfigError } from '../phi-guard/errors';

export interface StripeClientOptions {
  /** Secret or restricted key (`sk_…`/`rk_…`), from the stripe-account config node's credentials. */
  secretKey: string;
  /** Per-request timeout; default 20 s, so a hung call fails well inside a queue handler's budget. */
  timeoutMs?: number;
  /**
   * Retries inside the SDK; default 0. The queue owns retries (with backoff,
   * deadlines and a visible history), and a retry there reuses the same
   * idempotency key, so nothing is lost by not retrying twice.
   */
  maxNetworkRetries?: number;
  /**
   * Send API calls to this origin instead of api.stripe.com: an egress
   * gateway, or a loopback fake when tests run the hub as a process.
   */
  apiBaseUrl?: string;
}

/**
 * The production Stripe client. Tests build their own `new Stripe(key, { host,
 * port, protocol })` pointed at a loopback server and inject it instead.
 * @param options - key, timeout, SDK retries
 */
export function createStripeClient(options: StripeClientOptions): Stripe {
  if (!/^(sk|rk)_(test|live)_\w+$/.test(options.secretKey)) throw new ProviderConfigError('Stripe secret key is not an sk_/rk_ key');
  const base = options.apiBaseUrl ? new URL(options.apiBaseUrl) : undefined;
  return new Stripe(options.secretKey, {
    ...(base ? { host: base.hostname, port: base.port || (base.protocol === 'http:' ? '80' : '443'), protocol: base.protocol === 'http:' ? 'http' : 'https' } : {}),
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    timeout: options.timeoutMs ?? 20_000,
    appInfo: { name: 'ivf-interface-hub' },
  });
}
