import type Stripe from 'stripe';
import { METADATA_HUB_MESSAGE_ID, METADATA_REFERENCE } from './stripe-payments';

/** The Stripe events that become EMR ledger postings. */
export const POSTED_EVENT_TYPES = ['payment_intent.succeeded', 'payment_intent.payment_failed', 'charge.refunded'] as const;
export type PostedEventType = (typeof POSTED_EVENT_TYPES)[number];

/**
 * A payment fact for the EMR ledger, carrying only ids, amounts and codes.
 * `stripeEventId` is its idempotency key downstream: the EMR side must post
 * each event once.
 */
export interface PaymentPosting {
  kind: 'payment' | 'payment-failed' | 'refund';
  stripeEventId: string;
  eventType: PostedEventType;
  /** When Stripe recorded the event. */
  occurredAt: Date;
  livemode: boolean;
  paymentIntentId: string | null;
  chargeId: string | null;
  /** The hub message that created the payment (from metadata), when it was ours. */
  hubMessageId: string | null;
  /** The EMR ledger's reference (from metadata). */
  reference: string | null;
  /** Payment: amount received. Failure: amount attempted. Refund: amount refunded by this event. */
  amountMinor: number;
  currency: string;
  /** Refunds: total refunded on the charge so far. */
  refundedTotalMinor: number | null;
  /** Failures: Stripe's `code` / `decline_code` (never its message, which may name the card holder). */
  failureCode: string | null;
  declineCode: string | null;
}

type Obj = Record<string, unknown>;

/**
 * Turns a verified Stripe event into a ledger posting, or null for event
 * types the EMR does not take.
 *
 * For `charge.refunded`, `amount_refunded` is cumulative; the posting takes
 * the difference to `previous_attributes.amount_refunded` so that two partial
 * refunds post as two amounts, not as the running total twice.
 *
 * @param event - a verified event (snapshot payload)
 */
export function postingFromEvent(event: Stripe.Event): PaymentPosting | null {
  const type = event.type as string;
  if (!(POSTED_EVENT_TYPES as readonly string[]).includes(type)) return null;
  const data = event.data as unknown as { object: Obj; previous_attributes?: Obj };
  const obj = data.object;
  const metadata = (obj.metadata && typeof obj.metadata === 'object' ? obj.metadata : {}) as Obj;
  const base = {
    stripeEventId: event.id,
    eventType: type as PostedEventType,
    occurredAt: new Date(event.created * 1000),
    livemode: event.livemode,
    hubMessageId: str(metadata[METADATA_HUB_MESSAGE_ID]),
    reference: str(metadata[METADATA_REFERENCE]),
    currency: str(obj.currency) ?? '',
    refundedTotalMinor: null,
    failureCode: null,
    declineCode: null,
  };
  if (type === 'payment_intent.succeeded') {
    return { ...base, kind: 'payment', paymentIntentId: str(obj.id), chargeId: idOf(obj.latest_charge), amountMinor: num(obj.amount_received) ?? num(obj.amount) ?? 0 };
  }
  if (type === 'payment_intent.payment_failed') {
    const last = (obj.last_payment_error && typeof obj.last_payment_error === 'object' ? obj.last_payment_error : {}) as Obj;
    return {
      ...base,
      kind: 'payment-failed',
      paymentIntentId: str(obj.id),
      chargeId: idOf(last.charge) ?? idOf(obj.latest_charge),
      amountMinor: num(obj.amount) ?? 0,
      failureCode: str(last.code),
      declineCode: str(last.decline_code),
    };
  }
  const total = num(obj.amount_refunded) ?? 0;
  const previous = num(data.previous_attributes?.amount_refunded);
  return {
    ...base,
    kind: 'refund',
    paymentIntentId: idOf(obj.payment_intent),
    chargeId: str(obj.id),
    amountMinor: previous === null ? total : total - previous,
    refundedTotalMinor: total,
  };
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Stripe fields that are an id, or the object when expanded. */
function idOf(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') return str((v as Obj).id);
  return null;
}
