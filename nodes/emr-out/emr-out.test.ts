import { join } from 'node:path';
import type { FhirResource } from '../../adapters/emr';
import type { PaymentPosting } from '../../adapters/stripe';
import { CANARY_MRN, CANARY_NAME } from '../../test/fixtures/canary';
import { startFakeFhirServer } from '../../test/support/fake-fhir-server';
import type { FakeFhirServer } from '../../test/support/fake-fhir-server';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import serverInit = require('../emr-server/emr-server');
import emrOutInit = require('./emr-out');
import { HUB_MESSAGE_SYSTEM } from './hub-message-system';
import { derivedMessageId } from './outbound';

helper.init(require.resolve('node-red'));

const OBS_SYSTEM = 'urn:ivf-hub:observation';

function observation(id?: string): FhirResource {
  return {
    resourceType: 'Observation',
    ...(id ? { identifier: [{ system: OBS_SYSTEM, value: id }] } : {}),
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '21198-7' }] },
    subject: { identifier: { system: 'urn:mrn', value: CANARY_MRN }, display: CANARY_NAME },
    valueQuantity: { value: 152.4, unit: 'm[IU]/mL' },
  };
}

const posting: PaymentPosting = {
  kind: 'payment',
  stripeEventId: 'evt_1PaidLoop',
  eventType: 'payment_intent.succeeded',
  occurredAt: new Date('2026-03-01T12:00:00Z'),
  livemode: false,
  paymentIntentId: 'pi_123',
  chargeId: 'ch_123',
  hubMessageId: null,
  reference: 'INV-2026-0042',
  amountMinor: 12500,
  currency: 'usd',
  refundedTotalMinor: null,
  failureCode: null,
  declineCode: null,
};

describe('emr-out node', () => {
  let hub: HubHarness;
  let fhir: FakeFhirServer;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
    fhir = await startFakeFhirServer({ auth: 'oauth', clientId: 'hub-client', clientSecret: 'oauth-client-secret-1234' });
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    await fhir.close();
    await hub.close();
  });

  async function load(out: Record<string, unknown> = {}, server: Record<string, unknown> = {}, credentials: Record<string, unknown> = { srv: { clientSecret: 'oauth-client-secret-1234' } }) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'srv', type: 'emr-server', name: 'emr-core', baseUrl: fhir.baseUrl, authType: 'oauth', tokenUrl: fhir.tokenUrl, clientId: 'hub-client', scope: '', authMethod: 'basic', timeout: '2000', maxAttempts: '1', ...server },
      { id: 'n1', z: 'f1', type: 'emr-out', server: 'srv', operation: 'create', resourceType: '', identifierSystem: 'urn:ivf-hub:payment-notice', referenceSystem: 'urn:clinic:invoice', claimSystem: 'urn:clinic:claim', recipient: 'Organization/clinic', ...out, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load([withCatalog(serverInit, join(__dirname, '..', 'emr-server'), 'emr-server'), withCatalog(emrOutInit, __dirname, 'emr-out')], flow, credentials);
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('n1') };
  }

  function noPhi(...things: unknown[]): void {
    for (const t of things) expect(canariesIn(t)).toEqual([]);
    expect(canariesIn(logEvents())).toEqual([]);
  }

  test('create once: conditional create with OAuth; a repeat finds the resource instead of duplicating it', async () => {
    const { out, status } = await load();
    const inbound = await hub.store.insert({ direction: 'inbound', endpoint: 'lis', body: 'x' });
    flowNode('n1').receive({ payload: observation('OBS-1'), hubMessageId: inbound.id } as TestMsg);
    const first = await out.next();
    expect(first.fhir).toMatchObject({ resourceType: 'Observation', created: true, status: 201 });
    flowNode('n1').receive({ payload: observation('OBS-1'), hubMessageId: inbound.id } as TestMsg);
    const second = await out.next();
    expect(second.fhir).toMatchObject({ id: (first.fhir as { id: string }).id, created: false });
    expect(fhir.all('Observation')).toHaveLength(1);
    const posts = fhir.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/Observation'));
    expect(posts.map((r) => r.headers['if-none-exist'])).toEqual([`identifier=${OBS_SYSTEM}|OBS-1`, `identifier=${OBS_SYSTEM}|OBS-1`]);
    expect(posts[0]?.headers.authorization).toMatch(/^Bearer [0-9a-f]{32}$/);
    expect(fhir.tokenRequests()).toBe(1);
    // An inbound record named by hubMessageId is the cause, not this call's record: it is left alone.
    expect((await hub.store.get(inbound.id))?.status).toBe('received');
    await status.until((s) => s.text === 'saved 2');
    noPhi(status.all);
  });

  test('without a hub message id the resource is recorded first; its stable id is the idempotency key', async () => {
    const { out } = await load();
    flowNode('n1').receive({ _msgid: 'abc123', payload: observation() } as TestMsg);
    const msg = await out.next();
    const key = derivedMessageId('n1', 'abc123');
    expect(msg.hubMessageId).toBe(key);
    const saved = fhir.all('Observation')[0];
    expect(saved?.identifier).toEqual([{ system: HUB_MESSAGE_SYSTEM, value: key }]);
    expect(await hub.store.get(key)).toMatchObject({ direction: 'outbound', endpoint: 'emr-core', messageType: 'FHIR Observation', status: 'sent', attempts: 1, nodeId: 'n1' });
  });

  test('a 503 reaches Catch as retryable PROVIDER; the retry of the same msg uses the same key and succeeds once', async () => {
    const { out, caught, status } = await load();
    fhir.failNext(1, 503);
    flowNode('n1').receive({ _msgid: 'retry-1', payload: observation() } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PROVIDER', source: { id: 'n1' } });
    expect(failed.retryable).toBe(true);
    expect((failed.error as { cause?: unknown }).cause).toBeUndefined();
    const key = failed.hubMessageId as string;
    expect(await hub.store.get(key)).toMatchObject({ status: 'error', errorCode: 'PROVIDER', attempts: 1 });
    await status.until((s) => s.text === 'error: PROVIDER');

    // What a Catch-driven retry (or a queue) does: send the same msg again.
    delete failed.error;
    flowNode('n1').receive(failed);
    const ok = await out.next();
    expect(ok.hubMessageId).toBe(key);
    expect(ok.retryable).toBeUndefined();
    expect(await hub.store.get(key)).toMatchObject({ status: 'sent', attempts: 2 });
    expect(fhir.all('Observation')).toHaveLength(1);
    noPhi(failed.error, status.all);
  });

  test('a 400 is permanent; a payload that is no resource is PARSE; neither leaks content', async () => {
    const { caught } = await load();
    fhir.failNext(1, 400);
    flowNode('n1').receive({ payload: observation('OBS-2') } as TestMsg);
    const bad = await caught.next();
    expect(bad.error).toMatchObject({ code: 'PROVIDER' });
    expect(bad.retryable).toBe(false);
    flowNode('n1').receive({ payload: `not json ${CANARY_NAME}` } as TestMsg);
    const parse = await caught.next();
    expect(parse.error).toMatchObject({ code: 'PARSE' });
    expect(parse.retryable).toBe(false);
    noPhi(bad.error, parse.error);
  });

  test('post payment: a Stripe posting becomes one PaymentNotice, however often it is posted', async () => {
    const { out } = await load({ operation: 'payment' });
    flowNode('n1').receive({ payload: posting, hubMessageId: 'evt-record-1' } as TestMsg);
    const first = await out.next();
    flowNode('n1').receive({ posting, hubMessageId: 'evt-record-1' } as TestMsg);
    const second = await out.next();
    expect(first.fhir).toMatchObject({ resourceType: 'PaymentNotice', created: true });
    expect(second.fhir).toMatchObject({ created: false });
    const [notice] = fhir.all('PaymentNotice');
    expect(notice).toMatchObject({
      identifier: [{ system: 'urn:ivf-hub:payment-notice', value: 'stripe:evt_1PaidLoop' }],
      request: { identifier: { system: 'urn:clinic:invoice', value: 'INV-2026-0042' } },
      amount: { value: 125, currency: 'USD' },
      recipient: { reference: 'Organization/clinic' },
      paymentDate: '2026-03-01',
    });
    expect(fhir.all('PaymentNotice')).toHaveLength(1);
  });

  test('post payment refuses a failed payment as permanent', async () => {
    const { caught } = await load({ operation: 'payment' });
    flowNode('n1').receive({ posting: { ...posting, kind: 'payment-failed' } } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE' });
    expect(failed.retryable).toBe(false);
    expect(fhir.all('PaymentNotice')).toHaveLength(0);
  });

  test('search by identifier', async () => {
    fhir.seed({ resourceType: 'Claim', identifier: [{ system: 'urn:clinic:claim', value: 'ACCT-1' }] });
    const { out } = await load({ operation: 'search', resourceType: 'Claim' });
    flowNode('n1').receive({ identifier: { system: 'urn:clinic:claim', value: 'ACCT-1' } } as TestMsg);
    const msg = await out.next();
    expect(msg.payload).toHaveLength(1);
    expect(msg.fhir).toEqual({ resourceType: 'Claim', count: 1 });
  });

  test('a wrong client secret is AUTH and not retryable', async () => {
    const { caught } = await load({}, {}, { srv: { clientSecret: 'wrong-secret-000000' } });
    flowNode('n1').receive({ payload: observation('OBS-3') } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'AUTH' });
    expect(failed.retryable).toBe(false);
    expect(JSON.stringify(logEvents())).not.toContain('wrong-secret-000000');
  });

  test('without credentials the node shows "not configured" and fails with CONFIG', async () => {
    const { caught, status } = await load({}, {}, {});
    await status.until((s) => s.fill === 'red');
    expect(status.last).toEqual({ fill: 'red', shape: 'ring', text: 'not configured' });
    flowNode('n1').receive({ payload: observation('OBS-4') } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'CONFIG' });
    expect(failed.retryable).toBe(false);
    expect(fhir.requests).toHaveLength(0);
  });
});
