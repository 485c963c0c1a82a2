import { join } from 'node:path';
import Stripe from 'stripe';
import { helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import { post, startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import paymentInit = require('../stripe-payment/stripe-payment');
import webhookInit = require('../stripe-webhook/stripe-webhook');
import accountInit = require('./stripe-account');

helper.init(require.resolve('node-red'));

const OLD = 'whsec_old_0123456789abcdef';
const NEW = 'whsec_new_fedcba9876543210';

describe('stripe-account config node', () => {
  let hub: HubHarness;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await hub.close();
  });

  async function load(credentials: Record<string, unknown>, settings: Record<string, unknown> = {}) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'stripe-account', name: 'stripe', description: '', statementDescriptorSuffix: '', tolerance: '300', ...settings },
      { id: 'p1', z: 'f1', type: 'stripe-payment', account: 'acct', operation: 'intent', currency: 'usd', wires: [[]] },
      { id: 'w1', z: 'f1', type: 'stripe-webhook', account: 'acct', path: '/stripe/webhook', wires: [['events']] },
      { id: 'events', z: 'f1', type: 'helper' },
    ];
    const inits = [withCatalog(accountInit, __dirname, 'stripe-account'), withCatalog(paymentInit, join(__dirname, '..', 'stripe-payment'), 'stripe-payment'), withCatalog(webhookInit, join(__dirname, '..', 'stripe-webhook'), 'stripe-webhook')];
    await helper.load(inits.map((i) => hub.capture(i)), flow, { acct: credentials });
    hub.mount();
    return { events: new MessageTap('events'), payment: new StatusTap('p1'), webhook: new StatusTap('w1') };
  }

  test('a key that is not an sk_/rk_ key is a configuration error, logged without the key', async () => {
    const { payment } = await load({ secretKey: 'pk_live_publishable_not_secret' });
    await payment.until((s) => s.text === 'error: CONFIG');
    expect(JSON.stringify(logEvents())).not.toContain('pk_live_publishable_not_secret');
  });

  test('during a signing-secret roll, events signed with either secret are accepted', async () => {
    const { events } = await load({ secretKey: 'sk_test_x', webhookSecret: OLD, webhookSecretNext: NEW });
    for (const [i, secret] of [OLD, NEW].entries()) {
      const payload = JSON.stringify({ id: `evt_roll_${i}`, object: 'event', type: 'charge.refunded', created: Math.floor(Date.now() / 1000), livemode: false, data: { object: { id: 'ch_1', amount_refunded: 500, currency: 'usd', payment_intent: 'pi_1', metadata: {} } } });
      const res = await post(hub.url('/stripe/webhook'), payload, { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret }) });
      expect(res.status).toBe(200);
      expect((await events.next()).posting).toMatchObject({ kind: 'refund', stripeEventId: `evt_roll_${i}`, amountMinor: 500 });
    }
  });

  test('the webhook works without a secret key, and payments without a signing secret', async () => {
    const { payment, webhook } = await load({ webhookSecret: OLD });
    await payment.until((s) => s.text === 'not configured');
    await webhook.until((s) => s.text === 'listening');
  });

  test('secrets from the HUB_STRIPE_ variables the node names, when its credentials are empty', async () => {
    process.env.HUB_STRIPE_WEBHOOK_SECRET = OLD;
    try {
      const { events, payment } = await load({}, { secretKeyEnv: 'HUB_STRIPE_API_KEY', webhookSecretEnv: 'HUB_STRIPE_WEBHOOK_SECRET' });
      await payment.until((s) => s.text === 'not configured');
      const payload = JSON.stringify({ id: 'evt_env_1', object: 'event', type: 'charge.refunded', created: Math.floor(Date.now() / 1000), livemode: false, data: { object: { id: 'ch_1', amount_refunded: 500, currency: 'usd', payment_intent: 'pi_1', metadata: {} } } });
      expect((await post(hub.url('/stripe/webhook'), payload, { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: OLD }) })).status).toBe(200);
      expect((await events.next()).posting).toMatchObject({ stripeEventId: 'evt_env_1' });
      expect(JSON.stringify(logEvents())).not.toContain(OLD);
    } finally {
      delete process.env.HUB_STRIPE_WEBHOOK_SECRET;
    }
  });
});
