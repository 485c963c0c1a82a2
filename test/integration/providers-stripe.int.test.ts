import Stripe from 'stripe';
import { StripePaymentGateway, StripeRequestError } from '../../adapters/stripe';
import { PhiPolicy, PhiPolicyError, ProviderRequestInvalidError } from '../../adapters/phi-guard';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { FakeStripe, captureLogger, parseNestedForm, stripeErrorBody } from '../support/fake-providers';
import type { CapturedLogger } from '../support/fake-providers';

/**
 * stripe-payment against the real stripe-node SDK, pointed at a loopback
 * server that answers like Stripe (including its idempotency layer).
 */
const KEY = 'sk_test_51HubLoopbackKey0000';
const CANARIES = [CANARY_NAME, CANARY_MRN, CANARY_DOB, 'CANARYSURNAME', 'CANARYGIVEN'];

let fake: FakeStripe;
let log: CapturedLogger;
let gateway: StripePaymentGateway;
let seq = 0;
const hubId = (): string => `0193a2b4-0000-7000-8000-${String(++seq).padStart(12, '0')}`;

function sdk(key = KEY): Stripe {
  return new Stripe(key, { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 });
}

beforeEach(async () => {
  fake = await new FakeStripe(KEY).start();
  log = captureLogger();
  gateway = new StripePaymentGateway({}, { stripe: sdk(), phiPolicy: new PhiPolicy({ canaries: [CANARY_NAME, CANARY_MRN, CANARY_DOB] }), logger: log.logger });
});

afterEach(async () => {
  await gateway.close();
  await fake.close();
  const text = log.lines.join('\n').toLowerCase();
  for (const c of CANARIES) expect(text).not.toContain(c.toLowerCase());
});

describe('StripePaymentGateway.createPaymentIntent', () => {
  test('sends path, auth, idempotency key and a neutral body', async () => {
    const id = hubId();
    const result = await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 12500, currency: 'USD', customerId: 'cus_Q1w2e3R4', reference: 'INV_2026_0042' });
    expect(result).toMatchObject({ hubMessageId: id, status: 'requires_payment_method', replayed: false });
    expect(result.paymentIntentId).toMatch(/^pi_/);
    const [req] = fake.server.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/payment_intents' });
    expect(req!.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req!.headers['idempotency-key']).toBe(id);
    expect(parseNestedForm(req!.rawBody)).toEqual({
      amount: '12500',
      currency: 'usd',
      customer: 'cus_Q1w2e3R4',
      description: 'Clinic services',
      metadata: { hub_message_id: id, reference: 'INV_2026_0042' },
      automatic_payment_methods: { enabled: 'true' },
    });
  });

  test('a retry after a 500 sends the same idempotency key and creates one intent', async () => {
    const id = hubId();
    fake.server.failNext({ status: 500, body: stripeErrorBody('api_error', 'Something went wrong on our end.') });
    const first = await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 5000, currency: 'usd' }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(StripeRequestError);
    expect(first).toMatchObject({ code: 'PROVIDER', retryable: true });

    const second = await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 5000, currency: 'usd' });
    // A queue redelivering after success: Stripe answers from its idempotency cache.
    const third = await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 5000, currency: 'usd' });
    expect(third).toMatchObject({ paymentIntentId: second.paymentIntentId, replayed: true });
    expect(fake.server.requests.map((r) => r.headers['idempotency-key'])).toEqual([id, id, id]);
    expect(fake.creationsByKey.get(id)).toBe(1);
    expect(fake.creations).toBe(1);
  });

  test('a response lost after Stripe created the intent: every retry carries the key, one intent exists', async () => {
    const id = hubId();
    // stripe-node itself retries a reset connection once, even with retries off; drop that answer too.
    fake.resetAfterAnswer(2);
    const lost = await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 7000, currency: 'usd' }).catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(StripeRequestError);
    expect(lost).toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
    const retry = await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 7000, currency: 'usd' });
    expect(retry.replayed).toBe(true);
    expect(fake.server.requests.map((r) => r.headers['idempotency-key'])).toEqual([id, id, id]);
    expect(fake.creationsByKey.get(id)).toBe(1);
  });

  test('the SDK’s own one-time retry of a reset connection reuses our key', async () => {
    const id = hubId();
    fake.resetAfterAnswer(1);
    const result = await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 7100, currency: 'usd' });
    expect(result.replayed).toBe(true);
    expect(fake.server.requests.map((r) => r.headers['idempotency-key'])).toEqual([id, id]);
    expect(fake.creations).toBe(1);
  });

  test('a saved payment method is charged off session', async () => {
    const result = await gateway.createPaymentIntent({ hubMessageId: hubId(), amountMinor: 2500, currency: 'usd', customerId: 'cus_A1', paymentMethodId: 'pm_card_visa' });
    expect(result.status).toBe('succeeded');
    expect(parseNestedForm(fake.server.requests[0]!.rawBody)).toMatchObject({ payment_method: 'pm_card_visa', confirm: 'true', off_session: 'true' });
  });

  test.each([
    ['429 rate limit', { status: 429, body: stripeErrorBody('invalid_request_error', 'Too many requests') }, 'RATE_LIMITED', true],
    ['402 card declined', { status: 402, body: { error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' } } }, 'PROVIDER', false],
    ['400 invalid request', { status: 400, body: stripeErrorBody('invalid_request_error', 'Invalid currency: xyz') }, 'PROVIDER', false],
    ['503 with Stripe-Should-Retry: false', { status: 503, headers: { 'stripe-should-retry': 'false' }, body: stripeErrorBody('api_error', 'x') }, 'PROVIDER', false],
  ])('maps %s onto the hub codes without Stripe’s message', async (_label, fault, code, retryable) => {
    fake.server.failNext(fault);
    const err = await gateway.createPaymentIntent({ hubMessageId: hubId(), amountMinor: 100, currency: 'usd' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StripeRequestError);
    expect(err).toMatchObject({ code, retryable });
    expect((err as Error).message).not.toMatch(/insufficient funds\.|Invalid currency/);
    expect((err as Error).cause).toBeDefined();
  });

  test('a wrong key is an AUTH error, not retried', async () => {
    const bad = new StripePaymentGateway({}, { stripe: sdk('sk_test_wrong'), logger: log.logger });
    await expect(bad.createPaymentIntent({ hubMessageId: hubId(), amountMinor: 100, currency: 'usd' })).rejects.toMatchObject({ code: 'AUTH', retryable: false });
  });

  test('reusing a hub message id with other parameters is refused by Stripe, permanently', async () => {
    const id = hubId();
    await gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 100, currency: 'usd' });
    await expect(gateway.createPaymentIntent({ hubMessageId: id, amountMinor: 200, currency: 'usd' })).rejects.toMatchObject({ code: 'PROVIDER', retryable: false });
    expect(fake.creations).toBe(1);
  });

  test('bad input is refused before any request', async () => {
    await expect(gateway.createPaymentIntent({ hubMessageId: hubId(), amountMinor: 12.5, currency: 'usd' })).rejects.toBeInstanceOf(ProviderRequestInvalidError);
    await expect(gateway.createPaymentIntent({ hubMessageId: '', amountMinor: 100, currency: 'usd' })).rejects.toBeInstanceOf(ProviderRequestInvalidError);
    await expect(gateway.createPaymentIntent({ hubMessageId: hubId(), amountMinor: 100, currency: 'usd', reference: 'Jane Doe' })).rejects.toMatchObject({ field: 'reference' });
    expect(fake.server.requests).toHaveLength(0);
  });

  test('the PHI guard refuses a canary, a field name or "IVF" and nothing reaches Stripe', async () => {
    const cases = [
      { description: `Balance ${CANARY_NAME}`, path: 'description' },
      { description: 'IVF cycle deposit', path: 'description' },
      { description: 'Clinic services (58970)', path: 'description' },
      { reference: CANARY_MRN.replace(/-/g, '_'), path: 'metadata.reference' },
    ];
    for (const c of cases) {
      const err = await gateway.createPaymentIntent({ hubMessageId: hubId(), amountMinor: 100, currency: 'usd', description: c.description, reference: c.reference }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PhiPolicyError);
      expect((err as PhiPolicyError).path).toBe(c.path);
      for (const v of CANARIES) expect((err as Error).message.toLowerCase()).not.toContain(v.toLowerCase());
    }
    expect(fake.server.requests).toHaveLength(0);
  });
});

describe('StripePaymentGateway.createInvoice', () => {
  test('creates, fills and finalizes with derived idempotency keys; a failed step is resumed by the retry', async () => {
    const id = hubId();
    const request = { hubMessageId: id, customerId: 'cus_Q1w2e3R4', currency: 'usd', reference: 'ACCT_77', lines: [{ amountMinor: 30000 }, { amountMinor: 4500 }] };
    // The first line is added, the second answers 500.
    fake.server.failNext({ status: 500, path: /^\/v1\/invoiceitems$/, skip: 1, body: stripeErrorBody('api_error', 'x') });
    const first = await gateway.createInvoice(request).catch((e: unknown) => e);
    expect(first).toMatchObject({ code: 'PROVIDER', retryable: true });
    const result = await gateway.createInvoice(request);
    expect(result).toMatchObject({ hubMessageId: id, status: 'open', amountDueMinor: 34500, replayed: true });
    expect(result.hostedInvoiceUrl).toMatch(/^https:\/\/invoice\.stripe\.com\//);

    const calls = fake.server.requests.map((r) => [r.path.replace(/in_\w+/, 'in_X'), r.headers['idempotency-key']]);
    expect(calls).toEqual([
      ['/v1/invoices', id],
      ['/v1/invoiceitems', `${id}:line-0`],
      ['/v1/invoiceitems', `${id}:line-1`],
      ['/v1/invoices', id],
      ['/v1/invoiceitems', `${id}:line-0`],
      ['/v1/invoiceitems', `${id}:line-1`],
      ['/v1/invoices/in_X/finalize', `${id}:finalize`],
    ]);
    expect(fake.creationsByKey.get(id)).toBe(1);
    expect(fake.creationsByKey.get(`${id}:line-0`)).toBe(1);
    expect(fake.creationsByKey.get(`${id}:line-1`)).toBe(1);
    const invoiceBody = parseNestedForm(fake.server.requests[0]!.rawBody);
    expect(invoiceBody).toMatchObject({ customer: 'cus_Q1w2e3R4', collection_method: 'send_invoice', days_until_due: '30', pending_invoice_items_behavior: 'exclude', auto_advance: 'false', metadata: { hub_message_id: id, reference: 'ACCT_77' } });
    expect(parseNestedForm(fake.server.requests[5]!.rawBody)).toMatchObject({ amount: '4500', description: 'Clinic services', invoice: expect.stringMatching(/^in_/) });
  });

  test('a line text with a procedure is refused before the first request', async () => {
    const err = await gateway.createInvoice({ hubMessageId: hubId(), customerId: 'cus_A', currency: 'usd', lines: [{ amountMinor: 100 }, { amountMinor: 200, description: 'Embryo transfer' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PhiPolicyError);
    expect((err as PhiPolicyError).path).toBe('lines[1].description');
    expect(fake.server.requests).toHaveLength(0);
  });
});
