import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import { signWebhook } from '../../adapters/emr';
import { CANARY_MRN } from '../fixtures/canary';
import { login, startHubProcess, tempDataDir } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';

/**
 * The billing and messaging nodes in the built hub, as `npm start` runs it:
 * the reference flows start unconfigured without harm, credentials deployed
 * through the admin API switch the webhooks on, the hub's token check lets
 * exactly those paths through on their signatures, and webhook replay
 * protection survives a restart (providers/providers.db in the data dir).
 */
const ADMIN_PASSWORD = 'admin-password-for-tests';
const STRIPE_SECRET = 'whsec_hub_test_7a1c0e9d2b';
const EMR_SECRET = 'emr-webhook-secret-for-hub-test';
const auth = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

type FlowNode = { id: string; type: string; credentials?: Record<string, string> } & Record<string, unknown>;

describe('billing and messaging nodes in the hub process', () => {
  const dataDir = tempDataDir();
  let hub: HubProcess | undefined;
  let admin: string;

  const start = async (): Promise<HubProcess> => {
    hub = await startHubProcess({ HUB_ADMIN_PASSWORD: ADMIN_PASSWORD, HUB_DATA_DIR: dataDir });
    admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
    return hub;
  };

  afterAll(async () => {
    await hub?.stop();
  });

  const stripeEvent = JSON.stringify({
    id: 'evt_hub_1',
    object: 'event',
    type: 'payment_intent.succeeded',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    data: { object: { id: 'pi_1', object: 'payment_intent', amount: 5000, amount_received: 5000, currency: 'usd', metadata: { reference: 'INV-1' } } },
  });
  const stripeHeaders = (secret = STRIPE_SECRET): Record<string, string> => ({ 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: stripeEvent, secret }), 'content-type': 'application/json' });

  async function messages(h: HubProcess, endpoint: string): Promise<{ id: string; controlId: string | null }[]> {
    const res = await fetch(`${h.url}/api/v1/messages?endpoint=${endpoint}`, { headers: auth(admin) });
    return ((await res.json()) as { items: { id: string; controlId: string | null }[] }).items;
  }

  test('the reference flows start unconfigured: ready, nothing served, nothing crashed', async () => {
    const h = await start();
    const flows = (await (await fetch(`${h.url}/flows`, { headers: auth(admin) })).json()) as FlowNode[];
    for (const label of ['Billing', 'Payments', 'Patient messaging']) expect(flows.some((n) => n.type === 'tab' && n.label === label)).toBe(true);
    for (const type of ['emr-in', 'x12-837p', 'x12-deliver', 'stripe-webhook', 'emr-out', 'twilio-sms', 'twilio-webhook']) expect(flows.some((n) => n.type === type)).toBe(true);
    const ready = await fetch(`${h.url}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { flows: 'ok' } });
    // Unconfigured webhooks are not served; the flows' token-protected endpoints still want a token.
    expect((await fetch(`${h.url}/in/stripe/webhook`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${h.url}/in/emr/appointments`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${h.url}/in/messages`, { method: 'POST', body: 'x' })).status).toBe(401);
    expect(h.output()).not.toMatch(/TypeError|ReferenceError|Unhandled|missing types/i);
  });

  test('credentials deployed through the admin API switch the webhooks on; signatures are their only authentication', async () => {
    const h = hub!;
    const flows = (await (await fetch(`${h.url}/flows`, { headers: auth(admin) })).json()) as FlowNode[];
    for (const n of flows) {
      if (n.type === 'stripe-account') n.credentials = { webhookSecret: STRIPE_SECRET };
      if (n.type === 'emr-server') n.credentials = { webhookSecret: EMR_SECRET };
    }
    const deploy = await fetch(`${h.url}/flows`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'application/json', 'Node-RED-Deployment-Type': 'full' }, body: JSON.stringify(flows) });
    expect(deploy.status).toBe(204);
    const deadline = Date.now() + 10_000;
    while ((await fetch(`${h.url}/in/stripe/webhook`, { method: 'POST', body: '{}' })).status === 404) {
      if (Date.now() > deadline) throw new Error(`stripe webhook not served after deploy:\n${h.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    expect((await fetch(`${h.url}/in/stripe/webhook`, { method: 'POST', body: stripeEvent, headers: stripeHeaders('whsec_forged_0000') })).status).toBe(403);
    expect((await fetch(`${h.url}/in/stripe/webhook`, { method: 'POST', body: stripeEvent, headers: stripeHeaders() })).status).toBe(200);
    expect((await messages(h, 'stripe')).map((m) => m.controlId)).toEqual(['evt_hub_1']);

    const emrEvent = JSON.stringify({ id: 'evt-hub-emr-1', type: 'appointment.booked', occurredAt: '2025-03-10T14:00:00Z', data: { appointmentId: 'APT-1', patientId: CANARY_MRN, status: 'booked', start: '2025-03-18T08:00:00-04:00' } });
    const now = Math.floor(Date.now() / 1000);
    expect((await fetch(`${h.url}/in/emr/appointments`, { method: 'POST', body: emrEvent, headers: { 'x-emr-signature': signWebhook('forged-secret-000000000', emrEvent, now) } })).status).toBe(401);
    expect((await fetch(`${h.url}/in/emr/appointments`, { method: 'POST', body: emrEvent, headers: { 'content-type': 'application/json', 'x-emr-signature': signWebhook(EMR_SECRET, emrEvent, now) } })).status).toBe(202);
    expect((await messages(h, 'emr-appointments')).map((m) => m.controlId)).toEqual(['evt-hub-emr-1']);
    expect(existsSync(join(dataDir, 'providers', 'providers.db'))).toBe(true);
    // The credentials never reach the browser or the logs.
    expect(JSON.stringify(await (await fetch(`${h.url}/flows`, { headers: auth(admin) })).json())).not.toContain(STRIPE_SECRET);
    expect(h.output()).not.toContain(STRIPE_SECRET);
    expect(h.output()).not.toContain(EMR_SECRET);
    expect(h.output()).not.toContain(CANARY_MRN);
  });

  test('after a restart, a Stripe redelivery of the processed event is still recognised', async () => {
    await hub!.stop();
    const h = await start();
    const deadline = Date.now() + 10_000;
    let res = await fetch(`${h.url}/in/stripe/webhook`, { method: 'POST', body: stripeEvent, headers: stripeHeaders() });
    while (res.status === 404 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      res = await fetch(`${h.url}/in/stripe/webhook`, { method: 'POST', body: stripeEvent, headers: stripeHeaders() });
    }
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, duplicate: true });
    expect(await messages(h, 'stripe')).toHaveLength(1);
  });
});
