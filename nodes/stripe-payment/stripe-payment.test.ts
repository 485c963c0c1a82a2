import { join } from 'node:path';
import Stripe from 'stripe';
import { CANARY_NAME } from '../../test/fixtures/canary';
import { FakeStripe, parseNestedForm, stripeErrorBody } from '../../test/support/fake-providers';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import accountInit = require('../stripe-account/stripe-account');
import { setStripeClientFactory } from '../stripe-account/stripe-client';
import paymentInit = require('./stripe-payment');

helper.init(require.resolve('node-red'));

const KEY = 'sk_test_51HubNodeLoopback0000';

describe('stripe-payment node (real stripe-node SDK against a loopback Stripe)', () => {
  let hub: HubHarness;
  let fake: FakeStripe;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
    fake = await new FakeStripe(KEY).start();
    setStripeClientFactory((key) => new Stripe(key, { host: '127.0.0.1', port: fake.port, protocol: 'http', maxNetworkRetries: 0 }));
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    setStripeClientFactory();
    await fake.close();
    await hub.close();
  });

  async function load(settings: Record<string, unknown> = {}, credentials: Record<string, unknown> = { acct: { secretKey: KEY } }) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'stripe-account', name: 'stripe', description: 'Clinic services', statementDescriptorSuffix: '', tolerance: '300' },
      { id: 'p1', z: 'f1', type: 'stripe-payment', account: 'acct', operation: 'intent', currency: 'usd', ...settings, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load([withCatalog(accountInit, join(__dirname, '..', 'stripe-account'), 'stripe-account'), withCatalog(paymentInit, __dirname, 'stripe-payment')], flow, credentials);
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('p1') };
  }

  function noPhi(...things: unknown[]): void {
    for (const t of things) expect(canariesIn(t)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
    expect(JSON.stringify(logEvents())).not.toContain(KEY);
  }

  test('the hub message id is the Idempotency-Key; a repeat gets the same intent, replayed', async () => {
    const { out, status } = await load();
    const record = await hub.store.insert({ direction: 'outbound', endpoint: 'billing', messageType: 'balance', status: 'processing', body: '{}' });
    const request = { amountMinor: 12500, customerId: 'cus_Q1w2e3R4', reference: 'INV_2026_0042' };
    flowNode('p1').receive({ payload: request, hubMessageId: record.id } as TestMsg);
    const first = await out.next();
    flowNode('p1').receive({ payload: request, hubMessageId: record.id } as TestMsg);
    const second = await out.next();
    expect(first.payment).toMatchObject({ hubMessageId: record.id, status: 'requires_payment_method', replayed: false });
    expect(second.payment).toMatchObject({ paymentIntentId: (first.payment as { paymentIntentId: string }).paymentIntentId, replayed: true });
    expect(fake.server.requests.map((r) => [r.path, r.headers['idempotency-key'], r.headers.authorization])).toEqual([
      ['/v1/payment_intents', record.id, `Bearer ${KEY}`],
      ['/v1/payment_intents', record.id, `Bearer ${KEY}`],
    ]);
    expect(parseNestedForm(fake.server.requests[0]!.rawBody)).toMatchObject({ amount: '12500', currency: 'usd', customer: 'cus_Q1w2e3R4', description: 'Clinic services', metadata: { hub_message_id: record.id, reference: 'INV_2026_0042' } });
    expect(fake.creations).toBe(1);
    expect(await hub.store.get(record.id)).toMatchObject({ status: 'sent', attempts: 2 });
    await status.until((s) => s.text === 'created 2');
    noPhi(status.all);
  });

  test('a 500 is retryable; the Catch-driven retry reuses the key (from msg._msgid) and creates one intent', async () => {
    const { out, caught } = await load();
    fake.server.failNext({ status: 500, body: stripeErrorBody('api_error', 'Something went wrong') });
    flowNode('p1').receive({ _msgid: 'm-500', payload: { amountMinor: 5000 } } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PROVIDER' });
    expect(failed.retryable).toBe(true);
    const key = failed.hubMessageId as string;
    expect(await hub.store.get(key)).toMatchObject({ direction: 'outbound', status: 'error', errorCode: 'PROVIDER', messageType: 'stripe.payment_intent' });
    delete failed.error;
    flowNode('p1').receive(failed);
    const ok = await out.next();
    expect(ok.payment).toMatchObject({ hubMessageId: key });
    expect(fake.server.requests.map((r) => r.headers['idempotency-key'])).toEqual([key, key]);
    expect(fake.creations).toBe(1);
  });

  test('a card decline is permanent and names codes, not Stripe text', async () => {
    const { caught } = await load();
    fake.server.failNext({ status: 402, body: { error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: `Your card has insufficient funds, ${CANARY_NAME}.` } } });
    flowNode('p1').receive({ payload: { amountMinor: 100, customerId: 'cus_A1', paymentMethodId: 'pm_card_visa' } } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PROVIDER' });
    expect(failed.retryable).toBe(false);
    expect(String((failed.error as { message: string }).message)).toContain('card_declined/insufficient_funds');
    noPhi(failed.error);
  });

  test('a PHI policy refusal is permanent and nothing reaches Stripe', async () => {
    const { caught, status } = await load();
    flowNode('p1').receive({ payload: { amountMinor: 100, description: `IVF deposit for ${CANARY_NAME}` } } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE' });
    expect(failed.retryable).toBe(false);
    expect(fake.server.requests).toHaveLength(0);
    await status.until((s) => s.text === 'error: PARSE');
    noPhi(failed.error, status.all);
  });

  test('invoice: created, filled and finalized with derived keys', async () => {
    const { out } = await load({ operation: 'invoice' });
    flowNode('p1').receive({ payload: { customerId: 'cus_Q1w2e3R4', lines: [{ amountMinor: 30000 }, { amountMinor: 4500 }], reference: 'ACCT_77' }, hubMessageId: 'inv-hub-1' } as TestMsg);
    const msg = await out.next();
    expect(msg.payment).toMatchObject({ status: 'open', amountDueMinor: 34500 });
    expect(fake.server.requests.map((r) => r.headers['idempotency-key'])).toEqual(['inv-hub-1', 'inv-hub-1:line-0', 'inv-hub-1:line-1', 'inv-hub-1:finalize']);
  });

  test('a wrong key is AUTH; no key at all is "not configured"', async () => {
    let { caught, status } = await load({}, { acct: { secretKey: 'sk_test_wrong' } });
    flowNode('p1').receive({ payload: { amountMinor: 100 } } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'AUTH' });
    expect(failed.retryable).toBe(false);
    await helper.unload();
    ({ caught, status } = await load({}, {}));
    await status.until((s) => s.text === 'not configured');
    flowNode('p1').receive({ payload: { amountMinor: 100 } } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'CONFIG' });
  });
});
