import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import twilio from 'twilio';
import { signWebhook } from '../../adapters/emr';
import { createTwilioClient } from '../../adapters/twilio';
import { parseX12 } from '../../adapters/x12';
import { post, startHubHarness } from '../../nodes/emr-in/testing/webhook-harness';
import type { HubHarness } from '../../nodes/emr-in/testing/webhook-harness';
import { setStripeClientFactory } from '../../nodes/stripe-account/stripe-client';
import { setTwilioClientFactory } from '../../nodes/twilio-account/twilio-client';
import { CANARY_MRN } from '../fixtures/canary';
import { fixtureJson, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../fixtures/x12';
import { startFakeFhirServer } from '../support/fake-fhir-server';
import type { FakeFhirServer } from '../support/fake-fhir-server';
import { FakeStripe, FakeTwilio, parseFlatForm } from '../support/fake-providers';
import { canariesIn, flowNode, helper, logEvents, MessageTap, withCatalog } from '../support/node-red-helper';
import type { FlowNode, NodeInit } from '../support/node-red-helper';
import { startSshd } from '../support/sshd';
import type { SshdHandle } from '../support/sshd';

/**
 * The reference flow flows/billing-and-messaging.json, as shipped, run in
 * Node-RED with every config node filled in: the real SDKs and clients
 * against loopback stand-ins (FHIR server, Stripe, Twilio) and a real
 * OpenSSH server as the clearinghouse's SFTP inbox; webhooks over real HTTP
 * through the hub's token check.
 */
const ROOT = join(__dirname, '..', '..');
const FLOW = JSON.parse(readFileSync(join(ROOT, 'flows', 'billing-and-messaging.json'), 'utf8')) as FlowNode[];
const EMR_SECRET = 'emr-webhook-secret-0123456789';
const EMR_TOKEN = 'emr-static-bearer-token-0001';
const STRIPE_KEY = 'sk_test_51HubFlowLoopback0000';
const STRIPE_SECRET = 'whsec_flow_test_6d2b5e0c8f1a';
const TWILIO_ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const TWILIO_TOKEN = 'loopback-auth-token-6e5d4c3b2a19';
const TWILIO_SERVICE = 'MG' + 'fedcba9876543210'.repeat(2);

const core = (file: string): NodeInit => require(join(ROOT, 'node_modules', '@node-red', 'nodes', 'core', file)) as NodeInit;
const hubNode = (type: string): NodeInit => withCatalog(require(join(ROOT, 'nodes', type, type)) as NodeInit, join(ROOT, 'nodes', type), type);
const TYPES = ['emr-server', 'emr-in', 'emr-out', 'x12-837p', 'x12-deliver', 'clearinghouse', 'stripe-account', 'stripe-webhook', 'twilio-account', 'twilio-sms', 'twilio-webhook', 'store-record'];

helper.init(require.resolve('node-red'));

const byType = (type: string): FlowNode => {
  const n = FLOW.find((x) => x.type === type);
  if (!n) throw new Error(`reference flow has no ${type}`);
  return n;
};

describe('reference flow billing-and-messaging.json, configured, end to end', () => {
  let sshd: SshdHandle;
  let hub: HubHarness;
  let fhir: FakeFhirServer;
  let stripe: FakeStripe;
  let tw: FakeTwilio;

  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
    fhir = await startFakeFhirServer({ auth: 'bearer', staticToken: EMR_TOKEN });
    stripe = await new FakeStripe(STRIPE_KEY).start();
    tw = await new FakeTwilio(TWILIO_ACCOUNT, TWILIO_TOKEN).start();
    setStripeClientFactory((key) => new Stripe(key, { host: '127.0.0.1', port: stripe.port, protocol: 'http', maxNetworkRetries: 0 }));
    setTwilioClientFactory((o) => createTwilioClient({ ...o, apiBaseUrl: tw.baseUrl }));
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    setStripeClientFactory();
    setTwilioClientFactory();
    await Promise.all([fhir.close(), stripe.close(), tw.close()]);
    await hub.close();
  });

  /** The shipped flow with its config nodes filled in, outputs observed by helper nodes. */
  async function loadConfigured(): Promise<{ delivered: MessageTap; posted: MessageTap; sms: MessageTap; caught: MessageTap; smsStatus: MessageTap }> {
    const flow = FLOW.map((n) => ({ ...n }));
    const set = (type: string, patch: Record<string, unknown>, name?: string): FlowNode => {
      const n = flow.find((x) => x.type === type && (name === undefined || x.name === name));
      if (!n) throw new Error(`no ${type} ${name ?? ''}`);
      Object.assign(n, patch);
      return n;
    };
    set('emr-server', { baseUrl: fhir.baseUrl, authType: 'bearer', maxAttempts: 1 });
    set('clearinghouse', { host: sshd.host, port: sshd.port, username: sshd.username, remoteDir: sshd.uploadDir, hostKeySha256: sshd.hostKeySha256 });
    set('x12-837p', { parties: JSON.stringify(TEST_PARTIES), billing: JSON.stringify(TEST_BILLING) });
    set('twilio-account', { accountSid: TWILIO_ACCOUNT, messagingServiceSid: TWILIO_SERVICE, publicBaseUrl: hub.url(''), timeZone: 'UTC' });
    set('x12-deliver', { wires: [['delivered']] });
    set('emr-out', { wires: [['posted']] }, 'post payment');
    set('twilio-sms', { wires: [['sms'], ['sms']] });
    set('twilio-webhook', { wires: [['smsStatus'], []] });
    set('catch', { wires: [['caught']] });
    const tab = byType('tab').id;
    flow.push(...['delivered', 'posted', 'sms', 'caught', 'smsStatus'].map((id) => ({ id, z: tab, type: 'helper' })));
    const credentials = {
      [byType('emr-server').id]: { bearerToken: EMR_TOKEN, webhookSecret: EMR_SECRET },
      [byType('clearinghouse').id]: { privateKey: sshd.userKey },
      [byType('stripe-account').id]: { secretKey: STRIPE_KEY, webhookSecret: STRIPE_SECRET },
      [byType('twilio-account').id]: { authToken: TWILIO_TOKEN },
    };
    const inits = [...TYPES.map(hubNode), core('function/10-switch.js'), core('function/15-change.js'), core('common/20-inject.js'), core('common/21-debug.js'), core('common/90-comment.js')];
    await helper.load(inits.map((i) => hub.capture(i)), flow, credentials);
    hub.mount();
    return { delivered: new MessageTap('delivered'), posted: new MessageTap('posted'), sms: new MessageTap('sms'), caught: new MessageTap('caught'), smsStatus: new MessageTap('smsStatus') };
  }

  function noPhiLogged(): void {
    const text = JSON.stringify(logEvents());
    expect(canariesIn(text)).toEqual([]);
    expect(x12CanariesIn(text)).toEqual([]);
    for (const secret of [EMR_SECRET, EMR_TOKEN, STRIPE_KEY, STRIPE_SECRET, TWILIO_TOKEN, sshd.userKey.split('\n')[1] ?? 'x']) expect(text).not.toContain(secret);
  }

  test('unconfigured, as shipped, it loads without errors and serves no webhook', async () => {
    const inits = [...TYPES.map(hubNode), core('function/10-switch.js'), core('function/15-change.js'), core('common/20-inject.js'), core('common/21-debug.js'), core('common/90-comment.js')];
    await helper.load(inits.map((i) => hub.capture(i)), FLOW);
    hub.mount();
    await new Promise((r) => setTimeout(r, 50));
    for (const path of ['/emr/events', '/stripe/webhook', '/twilio/status', '/twilio/inbound']) {
      expect(hub.publicRoutes.has(path)).toBe(false);
      expect((await post(hub.url(path), '{}')).status).toBe(404);
    }
    const errors = logEvents().filter((e) => (e as { level?: number }).level === 20);
    expect(errors).toEqual([]);
  });

  test('a signed EMR charge becomes an 837P in the clearinghouse inbox; a forged one changes nothing', async () => {
    const { delivered, caught } = await loadConfigured();
    const claim = fixtureJson('ivf-transfer.claim.fhir.json') as Record<string, unknown>;
    fhir.seed({ ...claim, resourceType: 'Claim', identifier: [{ system: 'urn:clinic:account', value: 'ACCT-IVF-0323' }] });
    const body = JSON.stringify({
      id: 'evt-charge-1',
      type: 'charge.posted',
      occurredAt: '2025-03-23T17:00:00Z',
      data: { chargeId: 'CHG-4', patientId: CANARY_MRN, accountId: 'ACCT-IVF-0323', code: '58974', amount: { value: 1800, currency: 'USD' }, serviceDate: '2025-03-23', diagnoses: ['N97.9'] },
    });
    const forged = await post(hub.url('/emr/events'), body, { 'x-emr-signature': signWebhook('not-the-emr-secret-0000', body, Math.floor(Date.now() / 1000)) });
    expect(forged.status).toBe(401);

    const res = await post(hub.url('/emr/events'), body, { 'content-type': 'application/json', 'x-emr-signature': signWebhook(EMR_SECRET, body, Math.floor(Date.now() / 1000)) });
    expect(res.status).toBe(202);
    const msg = await delivered.next();
    expect(msg.delivery).toMatchObject({ transport: 'sftp', alreadyPresent: false, fileName: 'REPROMEDSUBMIT_000000001.837' });
    expect(readdirSync(sshd.uploadDir)).toContain('REPROMEDSUBMIT_000000001.837');
    const uploaded = readFileSync(join(sshd.uploadDir, 'REPROMEDSUBMIT_000000001.837'), 'utf8');
    const parsed = parseX12(uploaded);
    expect(parsed.kind === '837P' && parsed.claims.map((c) => c.claimId)).toEqual(['ACCT-IVF-0323']);
    expect(parsed.kind === '837P' && parsed.issues).toEqual([]);
    expect(await hub.store.get(msg.hubMessageId as string)).toMatchObject({ direction: 'outbound', messageType: '837P', status: 'sent', attempts: 1 });
    expect(await hub.store.count({ endpoint: 'emr-events' })).toBe(1);
    expect(caught.pending).toBe(0);
    noPhiLogged();
  });

  test('a signed Stripe payment is posted to the EMR once, however often Stripe delivers it', async () => {
    const { posted } = await loadConfigured();
    const event = JSON.stringify({
      id: 'evt_flow_1',
      object: 'event',
      type: 'payment_intent.succeeded',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: 'pi_9', object: 'payment_intent', amount: 20000, amount_received: 20000, currency: 'usd', latest_charge: 'ch_9', metadata: { reference: 'INV-77' } } },
    });
    const sign = (): Record<string, string> => ({ 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: event, secret: STRIPE_SECRET }), 'content-type': 'application/json' });
    expect((await post(hub.url('/stripe/webhook'), event, { 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: event, secret: 'whsec_forged_0000' }) })).status).toBe(403);
    expect((await post(hub.url('/stripe/webhook'), event, sign())).status).toBe(200);
    const msg = await posted.next();
    expect(msg.fhir).toMatchObject({ resourceType: 'PaymentNotice', created: true });
    expect((await post(hub.url('/stripe/webhook'), event, sign())).status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(posted.pending).toBe(0);
    expect(fhir.all('PaymentNotice')).toEqual([expect.objectContaining({ identifier: [{ system: 'urn:ivf-hub:payment-notice', value: 'stripe:evt_flow_1' }], amount: { value: 200, currency: 'USD' } })]);
    noPhiLogged();
  });

  test('the trigger-shot reminder goes out as time-critical SMS and its delivery report closes the stored record', async () => {
    const { sms, smsStatus } = await loadConfigured();
    flowNode(byType('inject').id).receive({});
    const sent = await sms.next();
    expect(sent.sms).toMatchObject({ outcome: 'sent' });
    const record = await hub.store.get(sent.hubMessageId as string);
    expect(record).toMatchObject({ direction: 'outbound', endpoint: 'reminders', messageType: 'SMS', status: 'sent' });

    const create = tw.server.requests.filter((r) => r.path === tw.messagesPath).pop()!;
    const url = parseFlatForm(create.rawBody).StatusCallback!;
    const params = { AccountSid: TWILIO_ACCOUNT, MessageSid: (sent.sms as { messageSid: string }).messageSid, MessageStatus: 'delivered', To: '+15005550006' };
    const forged = await post(url, new URLSearchParams(params).toString(), { 'x-twilio-signature': twilio.getExpectedTwilioSignature('wrong-token-000000', url, params), 'content-type': 'application/x-www-form-urlencoded' });
    expect(forged.status).toBe(403);
    const ok = await post(url, new URLSearchParams(params).toString(), { 'x-twilio-signature': twilio.getExpectedTwilioSignature(TWILIO_TOKEN, url, params), 'content-type': 'application/x-www-form-urlencoded' });
    expect(ok.status).toBe(200);
    expect((await smsStatus.next()).payload).toMatchObject({ hubMessageId: sent.hubMessageId, state: 'delivered', changed: true });
    noPhiLogged();
  });
});
