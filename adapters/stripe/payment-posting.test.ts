import type Stripe from 'stripe';
import { postingFromEvent } from './payment-posting';

function event(type: string, object: Record<string, unknown>, previous?: Record<string, unknown>): Stripe.Event {
  return { id: `evt_${type}`, object: 'event', type, created: 1796378400, livemode: false, data: { object, ...(previous ? { previous_attributes: previous } : {}) } } as unknown as Stripe.Event;
}

describe('postingFromEvent', () => {
  test('payment_intent.payment_failed keeps codes, not Stripe’s message', () => {
    const p = postingFromEvent(
      event('payment_intent.payment_failed', {
        id: 'pi_9',
        amount: 5000,
        currency: 'usd',
        metadata: { hub_message_id: 'hub-9' },
        last_payment_error: { code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.', charge: 'ch_9' },
      }),
    );
    expect(p).toEqual({
      kind: 'payment-failed',
      stripeEventId: 'evt_payment_intent.payment_failed',
      eventType: 'payment_intent.payment_failed',
      occurredAt: new Date(1796378400 * 1000),
      livemode: false,
      paymentIntentId: 'pi_9',
      chargeId: 'ch_9',
      hubMessageId: 'hub-9',
      reference: null,
      amountMinor: 5000,
      currency: 'usd',
      refundedTotalMinor: null,
      failureCode: 'card_declined',
      declineCode: 'insufficient_funds',
    });
    expect(JSON.stringify(p)).not.toContain('insufficient funds.');
  });

  test('charge.refunded posts the amount of this refund, not the running total', () => {
    const second = postingFromEvent(event('charge.refunded', { id: 'ch_1', amount: 10000, amount_refunded: 7000, currency: 'usd', payment_intent: 'pi_1', metadata: {} }, { amount_refunded: 3000 }));
    expect(second).toMatchObject({ kind: 'refund', chargeId: 'ch_1', paymentIntentId: 'pi_1', amountMinor: 4000, refundedTotalMinor: 7000, hubMessageId: null });
    const first = postingFromEvent(event('charge.refunded', { id: 'ch_2', amount_refunded: 2500, currency: 'usd', payment_intent: { id: 'pi_2' } }));
    expect(first).toMatchObject({ amountMinor: 2500, paymentIntentId: 'pi_2' });
  });

  test('other event types are not posted', () => {
    expect(postingFromEvent(event('charge.succeeded', { id: 'ch_3' }))).toBeNull();
  });
});
