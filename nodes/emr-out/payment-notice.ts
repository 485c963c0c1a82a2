import type { FhirResource } from '../../adapters/emr';
import { paymentNoticeFromRemittance } from '../../adapters/emr';
import type { PaymentPosting } from '../../adapters/stripe';
import type { ClaimPaymentEvent } from '../../adapters/x12';

/**
 * Ledger postings as FHIR R4 PaymentNotice resources for emr-out's
 * "post payment" operation: an 835 claim payment (via the EMR adapter's
 * `paymentNoticeFromRemittance`) or a Stripe patient payment or refund.
 * The business identifier is the provider's event id, so posting the same
 * event twice (a Stripe redelivery, a queue retry) is a conditional create
 * that finds the first one.
 *
 * Candidate for adapters/emr (next to payment-notice.ts); kept here so the
 * node issue does not touch the adapters.
 */

export interface PostingOptions {
  /** Identifier system of the hub's payment-notice ids. */
  identifierSystem: string;
  /** Identifier system of the EMR ledger references Stripe metadata carries (invoice or account numbers). */
  referenceSystem: string;
  /** Identifier system of claims (CLM01) for 835 payments. */
  claimSystem: string;
  /** PaymentNotice.recipient, e.g. `{ reference: 'Organization/clinic' }`. */
  recipient: { reference?: string; display?: string };
}

export const STRIPE_PAYMENT_SYSTEM = 'https://stripe.com/docs/api/payment_intents';

/** ISO 4217 currencies Stripe counts in whole units (no minor unit). */
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

export type PostingInput = { kind: 'stripe'; posting: PaymentPosting } | { kind: 'remittance'; event: ClaimPaymentEvent };

/** Recognise what a msg carries: a Stripe posting (stripe-webhook) or an 835 payment event (x12-parse). */
export function postingInputOf(value: unknown): PostingInput | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.stripeEventId === 'string' && typeof v.kind === 'string') return { kind: 'stripe', posting: v as unknown as PaymentPosting };
  if (v.type === 'claim.payment' && typeof v.eventId === 'string') return { kind: 'remittance', event: v as unknown as ClaimPaymentEvent };
  return undefined;
}

/**
 * @param input - from postingInputOf
 * @param options - identifier systems and recipient
 * @returns the PaymentNotice, or a reason why this posting is not a ledger entry
 */
export function paymentNoticeOf(input: PostingInput, options: PostingOptions): FhirResource | { notPosted: string } {
  if (input.kind === 'remittance') {
    return paymentNoticeFromRemittance(input.event, { identifierSystem: options.identifierSystem, claimSystem: options.claimSystem, recipient: options.recipient });
  }
  const p = input.posting;
  if (p.kind === 'payment-failed') return { notPosted: 'a failed payment is not a ledger entry' };
  const occurred = new Date(p.occurredAt as unknown as string | Date);
  if (Number.isNaN(occurred.getTime())) return { notPosted: 'posting has no valid occurredAt' };
  const currency = (p.currency || 'usd').toLowerCase();
  const major = ZERO_DECIMAL.has(currency) ? p.amountMinor : p.amountMinor / 100;
  const paymentId = p.paymentIntentId ?? p.chargeId;
  return {
    resourceType: 'PaymentNotice',
    identifier: [{ system: options.identifierSystem, value: `stripe:${p.stripeEventId}` }],
    status: 'active',
    ...(p.reference ? { request: { identifier: { system: options.referenceSystem, value: p.reference } } } : {}),
    created: occurred.toISOString(),
    payment: { ...(paymentId ? { identifier: { system: STRIPE_PAYMENT_SYSTEM, value: paymentId } } : {}), display: p.kind === 'refund' ? 'Stripe refund' : 'Stripe payment' },
    paymentDate: occurred.toISOString().slice(0, 10),
    recipient: options.recipient,
    // A refund is money going back: a negative amount on the ledger.
    amount: { value: p.kind === 'refund' ? -major : major, currency: currency.toUpperCase() },
    ...(p.kind === 'payment' ? { paymentStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/paymentstatus', code: 'paid' }] } } : {}),
  };
}
