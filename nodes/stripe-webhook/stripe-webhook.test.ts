import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { ageRecord } from '../../test/support/age-record';
import { pollUntil } from '../../test/support/poll';
import { canariesIn, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode } from '../../test/support/node-red-helper';
import { post, startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import accountInit = require('../stripe-account/stripe-account');
import webhookInit = require('./stripe-webhook');

helper.init(require.resolve('node-red'));

const SECRET = 'whsec_test_node_6d2b5e0c8f1a4b7e';
const PATH = '/stripe/webhook';
const nowSec = (): number => Math.floor(Date.now() / 1000);

function paymentEvent(id: string, type = 'payment_intent.succeeded'): string {
  return JSON.stringify({
    id,
    object: 'event',
    type,
    created: nowSec() - 1,
    livemode: false,
    data: { object: { id: 'pi_123', object: 'payment_intent', amount: 12500, amount_received: 12500, currency: 'usd', latest_charge: 'ch_123', metadata: { hub_message_id: 'hub-pay-1', reference: 'INV_42' } } },
  });
}

function signed(payload: string, opts: { secret?: string; timestamp?: number } = {}): Record<string, string> {
  return { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload, secret: opts.secret ?? SECRET, timestamp: opts.timestamp ?? nowSec() }), 'content-type': 'application/json' };
}

describe('stripe-webhook node', () => {
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

  async function load(credentials: Record<string, unknown> = { acct: { webhookSecret: SECRET } }, settings: Record<string, unknown> = {}) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'stripe-account', name: 'stripe', description: '', statementDescriptorSuffix: '', tolerance: '300' },
      { id: 'w1', z: 'f1', type: 'stripe-webhook', account: 'acct', path: PATH, ...settings, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
    ];
    await helper.load([hub.capture(withCatalog(accountInit, join(__dirname, '..', 'stripe-account'), 'stripe-account')), hub.capture(withCatalog(webhookInit, __dirname, 'stripe-webhook'))], flow, credentials);
    hub.mount();
    return { out: new MessageTap('out'), status: new StatusTap('w1') };
  }

  test('a signed payment event is stored, answered 200, then emitted as a posting', async () => {
    const { out, status } = await load();
    const body = paymentEvent('evt_1');
    const res = await post(hub.url(PATH), body, signed(body));
    expect(res.status).toBe(200);
    const msg = await out.next();
    expect(msg.posting).toMatchObject({ kind: 'payment', stripeEventId: 'evt_1', amountMinor: 12500, reference: 'INV_42', hubMessageId: 'hub-pay-1' });
    expect(msg.stripeEvent).toEqual({ id: 'evt_1', type: 'payment_intent.succeeded' });
    const record = await hub.store.get(msg.hubMessageId as string, { includeBody: true });
    expect(record).toMatchObject({ direction: 'inbound', endpoint: 'stripe', controlId: 'evt_1', messageType: 'stripe.payment_intent.succeeded', parentId: 'hub-pay-1' });
    expect(record?.body?.toString()).toBe(body);
    expect(existsSync(join(hub.dir, 'providers', 'providers.db'))).toBe(true);
    await status.until((s) => s.text === 'received 1');
    // The flow finished with it: the record says so.
    await pollUntil('the record to be sent', async () => (await hub.store.get(record!.id))?.status === 'sent');
  });

  test('a posting a previous run stored and answered 200 but never saw through the flow goes through it once the flows start; an operator may reprocess it', async () => {
    const body = paymentEvent('evt_left');
    const left = await hub.store.insert({ direction: 'inbound', endpoint: 'stripe', nodeId: 'w1', flowId: 'f1', controlId: 'evt_left', messageType: 'stripe.payment_intent.succeeded', status: 'processing', contentType: 'application/json', body });
    ageRecord(hub.dir, left.id, FOLLOW_TIMEOUT_MS + 1000);
    const { out } = await load();
    const msg = await out.next();
    expect(msg).toMatchObject({ hubMessageId: left.id, controlId: 'evt_left', messageType: 'stripe.payment_intent.succeeded', stripeEvent: { id: 'evt_left', type: 'payment_intent.succeeded' } });
    expect(msg.posting).toMatchObject({ kind: 'payment', stripeEventId: 'evt_left', amountMinor: 12500, reference: 'INV_42' });
    await pollUntil('the leftover to be sent', async () => (await hub.store.get(left.id))?.status === 'sent');

    const stored = (await hub.store.get(left.id, { includeBody: true }))!;
    await hub.reprocessors.get('w1')!({ ...stored, body: stored.body! });
    expect((await out.next()).posting).toEqual(msg.posting);
    await pollUntil('the reprocess to be sent', async () => (await hub.store.get(left.id))?.attempts === 2);
    await expect(hub.reprocessors.get('w1')!({ ...stored, body: stored.body!, endpoint: 'elsewhere' })).rejects.toMatchObject({ code: 'CONFIG' });
  });

  test('forged, tampered, unsigned and stale requests get 4xx; nothing is emitted or stored', async () => {
    const { out, status } = await load();
    const body = paymentEvent('evt_2');
    expect((await post(hub.url(PATH), body, signed(body, { secret: 'whsec_attacker_000000' }))).status).toBe(403);
    expect((await post(hub.url(PATH), body.replace('12500', '99999'), signed(body))).status).toBe(403);
    expect((await post(hub.url(PATH), body, { 'content-type': 'application/json' })).status).toBe(401);
    expect((await post(hub.url(PATH), body, signed(body, { timestamp: nowSec() - 3600 }))).status).toBe(403);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
    expect(await hub.store.count({ endpoint: 'stripe' })).toBe(0);
    await status.until((s) => s.text === 'rejected: bad-signature');
    expect(status.last?.fill).toBe('red');
    expect(canariesIn(logEvents())).toEqual([]);
  });

  test('Stripe redelivering a processed event gets 200 again and no second msg; it survives a redeploy', async () => {
    let { out } = await load();
    const body = paymentEvent('evt_3');
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(200);
    await out.next();
    const again = await post(hub.url(PATH), body, signed(body));
    expect(again.status).toBe(200);
    expect(JSON.parse(again.text)).toEqual({ received: true, duplicate: true });
    await helper.unload();
    ({ out } = await load());
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
    expect(await hub.store.count({ controlId: 'evt_3' })).toBe(1);
  });

  test('event types that are not postings are acknowledged and dropped', async () => {
    const { out } = await load();
    const body = JSON.stringify({ id: 'evt_cus', object: 'event', type: 'customer.created', created: nowSec(), livemode: false, data: { object: { id: 'cus_1' } } });
    expect((await post(hub.url(PATH), body, signed(body))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    expect(out.pending).toBe(0);
  });

  test('an invalid Timeout setting: "error: CONFIG", no route', async () => {
    const { status } = await load(undefined, { processingTimeoutMs: '0' });
    await status.until((s) => s.text === 'error: CONFIG');
    expect(hub.publicRoutes.has(PATH)).toBe(false);
  });

  test('without a signing secret: "not configured", no route', async () => {
    const { status } = await load({});
    await status.until((s) => s.text === 'not configured');
    expect(hub.publicRoutes.has(PATH)).toBe(false);
  });
});
