/**
 * Stripe: patient-balance PaymentIntents and invoices (stripe-payment) and
 * the signed webhook that turns payment events into EMR ledger postings
 * (stripe-webhook). Only opaque ids reach Stripe; every request passes the
 * PHI policy first. Plain TypeScript; never imports node-red.
 */
export { StripePaymentGateway, DEFAULT_DESCRIPTION, METADATA_HUB_MESSAGE_ID, METADATA_REFERENCE } from './stripe-payments';
export type {
  BalanceInvoiceLine,
  BalanceInvoiceRequest,
  BalancePaymentRequest,
  InvoiceResult,
  PaymentGateway,
  PaymentIntentResult,
  StripePaymentDeps,
  StripePaymentOptions,
} from './stripe-payments';
export { StripeWebhookReceiver, STRIPE_SIGNATURE_HEADER } from './stripe-webhook';
export type { StripeWebhookDeps, StripeWebhookOptions, StripeWebhookOutcome } from './stripe-webhook';
export { postingFromEvent, POSTED_EVENT_TYPES } from './payment-posting';
export type { PaymentPosting, PostedEventType } from './payment-posting';
export { createStripeClient } from './stripe-client';
export type { StripeClientOptions } from './stripe-client';
export { StripeRequestError, fromStripeError } from './errors';
