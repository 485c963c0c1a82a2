import Stripe from 'stripe';
import { captureLogger } from '../../test/support/fake-providers/capture-logger';
import { WebhookPayloadError, WebhookRejectedError, WebhookReplayError, WebhookSignatureError, WebhookStaleError } from '../phi-guard/errors';
import { InMemoryReplayStore } from '../phi-guard/replay-store';
import type { PaymentPosting } from './payment-posting';
import { StripeWebhookReceiver } from './stripe-webhook';

const SECRET = 'whsec_test_6d2b5e0c8f1a4b7e9c3d';
const NOW = new Date('2026-12-04T10:00:00Z');
const nowSec = Math.floor(NOW.getTime() / 1000);

function succeededEvent(id = 'evt_1PAYMENT'): string {
  return JSON.stringify({
    id,
    object: 'event',
    type: 'payment_intent.succeeded',
    created: nowSec - 2,
    livemode: false,
    api_version: '2026-11-18.endive',
    data: { object: { id: 'pi_123', object: 'payment_intent', amount: 12500, amount_received: 12500, currency: 'usd', latest_charge: 'ch_123', metadata: { hub_message_id: '0193-hub-1', reference: 'INV_42' } } },
  });
}

/** Signed with Stripe's own test helper, as Stripe would sign it. */
function signed(payload: string, opts: { secret?: string; timestamp?: number } = {}): { body: Buffer; headers: Record<string, string> } {
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? SECRET, timestamp: opts.timestamp ?? nowSec });
  return { body: Buffer.from(payload), headers: { 'Stripe-Signature': header, 'content-type': 'application/json' } };
}

function receiver(replayStore = new InMemoryReplayStore()): { r: StripeWebhookReceiver; postings: PaymentPosting[]; lines: string[] } {
  const { logger, lines } = captureLogger();
  const r = new StripeWebhookReceiver({ signingSecrets: SECRET }, { replayStore, logger, clock: () => NOW });
  return { r, postings: [], lines };
}

describe('StripeWebhookReceiver', () => {
  test('accepts a valid signature and posts the payment once', async () => {
    const { r, postings } = receiver();
    const { body, headers } = signed(succeededEvent());
    const outcome = await r.handle(body, headers, async (p) => void postings.push(p));
    expect(outcome).toMatchObject({ eventId: 'evt_1PAYMENT', eventType: 'payment_intent.succeeded' });
    expect(postings).toEqual([
      expect.objectContaining({ kind: 'payment', stripeEventId: 'evt_1PAYMENT', paymentIntentId: 'pi_123', chargeId: 'ch_123', hubMessageId: '0193-hub-1', reference: 'INV_42', amountMinor: 12500, currency: 'usd' }),
    ]);
  });

  test.each([
    ['signed with another secret', () => signed(succeededEvent(), { secret: 'whsec_attacker' }), WebhookSignatureError, 403],
    ['body altered after signing', () => ({ ...signed(succeededEvent()), body: Buffer.from(succeededEvent().replace('12500', '99999')) }), WebhookSignatureError, 403],
    ['no signature header', () => ({ body: Buffer.from(succeededEvent()), headers: {} }), WebhookSignatureError, 401],
    ['signed 10 minutes ago (a captured request)', () => signed(succeededEvent(), { timestamp: nowSec - 600 }), WebhookStaleError, 403],
    ['signed 10 minutes in the future', () => signed(succeededEvent(), { timestamp: nowSec + 600 }), WebhookStaleError, 403],
  ])('rejects a request %s and changes nothing', async (_label, make, errorClass, httpStatus) => {
    const store = new InMemoryReplayStore();
    const { r, postings } = receiver(store);
    const { body, headers } = make();
    const err = await r.handle(body, headers, async (p) => void postings.push(p)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errorClass);
    expect(err).toMatchObject({ httpStatus, retryable: false, provider: 'stripe' });
    expect(postings).toEqual([]);
    // Nothing was claimed: the genuine event is still processed afterwards.
    const good = signed(succeededEvent());
    await r.handle(good.body, good.headers, async (p) => void postings.push(p));
    expect(postings).toHaveLength(1);
  });

  test('rejects a replayed event id, also under a fresh signature, and posts nothing twice', async () => {
    const { r, postings } = receiver();
    const first = signed(succeededEvent());
    await r.handle(first.body, first.headers, async (p) => void postings.push(p));
    const replay = await r.handle(first.body, first.headers, async (p) => void postings.push(p)).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(WebhookReplayError);
    expect(replay).toMatchObject({ reason: 'replayed', httpStatus: 409, code: 'AUTH', eventKey: 'evt_1PAYMENT' });
    const resigned = signed(succeededEvent(), { timestamp: nowSec - 5 });
    await expect(r.handle(resigned.body, resigned.headers, async (p) => void postings.push(p))).rejects.toBeInstanceOf(WebhookReplayError);
    expect(postings).toHaveLength(1);
  });

  test('a failed posting releases the claim, so Stripe’s redelivery is processed', async () => {
    const { r, postings } = receiver();
    const { body, headers } = signed(succeededEvent());
    await expect(r.handle(body, headers, async () => Promise.reject(new Error('queue down')))).rejects.toThrow('queue down');
    await r.handle(body, headers, async (p) => void postings.push(p));
    expect(postings).toHaveLength(1);
  });

  test('a concurrent duplicate is in progress (retryable 409)', async () => {
    const { r } = receiver();
    const { body, headers } = signed(succeededEvent());
    let release!: () => void;
    const first = r.handle(body, headers, () => new Promise<void>((res) => (release = res)));
    await new Promise((res) => setImmediate(res));
    const second = await r.handle(body, headers, async () => undefined).catch((e: unknown) => e);
    expect(second).toMatchObject({ reason: 'in-progress', retryable: true, httpStatus: 409 });
    release();
    await first;
  });

  test('accepts either secret during a secret roll; unknown event types are acknowledged without a posting', async () => {
    const r = new StripeWebhookReceiver({ signingSecrets: ['whsec_old_aaaaaaaa', SECRET] }, { clock: () => NOW });
    const payload = JSON.stringify({ id: 'evt_other', object: 'event', type: 'customer.created', created: nowSec, livemode: false, data: { object: { id: 'cus_1' } } });
    const { body, headers } = signed(payload);
    const postings: PaymentPosting[] = [];
    await expect(r.handle(body, headers, async (p) => void postings.push(p))).resolves.toEqual({ eventId: 'evt_other', eventType: 'customer.created', posting: null });
    expect(postings).toEqual([]);
  });

  test('a validly signed body that is not JSON is a payload error; all rejections map to 4xx', async () => {
    const { r } = receiver();
    const { body, headers } = signed('not json');
    const err = await r.handle(body, headers, async () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookPayloadError);
    expect((err as WebhookRejectedError).httpStatus).toBe(400);
  });
});
