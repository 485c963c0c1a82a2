import { createMailService } from '../../adapters/sendgrid';
import type { SendGridClientOptions, SendGridEmailDeps } from '../../adapters/sendgrid';

/** The SendGrid MailService type, named through the adapter so nodes never import the SDK. */
export type SendGridMail = NonNullable<SendGridEmailDeps['mail']>;
export type SendGridMailFactory = (options: SendGridClientOptions) => SendGridMail;

// An operator's setting (environment), not an editor one: an egress gateway, or the loopback fake of tests that run the hub as a process.
const productionFactory: SendGridMailFactory = (options) => createMailService({ ...options, ...(process.env.HUB_SENDGRID_API_URL ? { apiBaseUrl: process.env.HUB_SENDGRID_API_URL } : {}) });
let factory: SendGridMailFactory = productionFactory;

/**
 * The one seam for tests: e.g. `(o) => createMailService({ ...o, apiBaseUrl: fake.baseUrl })`.
 * Not an editor setting on purpose: an API origin there would let whoever
 * edits flows send the API key elsewhere.
 * @param next - the factory; omit to restore the production one
 */
export function setSendGridMailFactory(next?: SendGridMailFactory): void {
  factory = next ?? productionFactory;
}

/** @param options - API key from the sendgrid-account node */
export function sendGridMail(options: SendGridClientOptions): SendGridMail {
  return factory(options);
}
