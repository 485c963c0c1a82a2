import { join } from 'node:path';
import { signWebhook } from '../../adapters/emr';
import { startFakeFhirServer } from '../../test/support/fake-fhir-server';
import { flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import emrInInit = require('../emr-in/emr-in');
import { post, startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import emrOutInit = require('../emr-out/emr-out');
import serverInit = require('./emr-server');

helper.init(require.resolve('node-red'));

const OLD = 'emr-webhook-secret-old-000001';
const NEW = 'emr-webhook-secret-new-000002';
const TOKEN = 'emr-can-not-sign-token-0001';

describe('emr-server config node', () => {
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

  async function load(server: Record<string, unknown>, credentials: Record<string, unknown>) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'srv', type: 'emr-server', name: 'emr-core', baseUrl: '', authType: 'none', tolerance: '300', ...server },
      { id: 'in1', z: 'f1', type: 'emr-in', server: 'srv', path: '/emr/events', wires: [['events']] },
      { id: 'out1', z: 'f1', type: 'emr-out', server: 'srv', operation: 'create', wires: [['saved']] },
      { id: 'events', z: 'f1', type: 'helper' },
      { id: 'saved', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    const inits = [withCatalog(serverInit, __dirname, 'emr-server'), withCatalog(emrInInit, join(__dirname, '..', 'emr-in'), 'emr-in'), withCatalog(emrOutInit, join(__dirname, '..', 'emr-out'), 'emr-out')];
    await helper.load(inits.map((i) => hub.capture(i)), flow, { srv: credentials });
    hub.mount();
    return { events: new MessageTap('events'), saved: new MessageTap('saved'), caught: new MessageTap('caught'), inStatus: new StatusTap('in1'), outStatus: new StatusTap('out1') };
  }

  const event = (id: string): string => JSON.stringify({ id, type: 'appointment.booked', occurredAt: '2025-03-10T14:00:00Z', data: { appointmentId: 'APT-1', patientId: 'P-1', status: 'booked', start: '2025-03-18T08:00:00-04:00' } });
  const now = (): number => Math.floor(Date.now() / 1000);

  test('during a secret rotation both secrets verify; an EMR that cannot sign may use the token', async () => {
    const { events } = await load({}, { webhookSecret: OLD, webhookSecretNext: NEW, webhookToken: TOKEN });
    const attempts: Record<string, string>[] = [{ 'x-emr-signature': signWebhook(OLD, event('e1'), now()) }, { 'x-emr-signature': signWebhook(NEW, event('e2'), now()) }, { authorization: `Bearer ${TOKEN}` }];
    for (const [i, headers] of attempts.entries()) {
      expect((await post(hub.url('/emr/events'), event(`e${i + 1}`), headers)).status).toBe(202);
    }
    expect([(await events.next()).controlId, (await events.next()).controlId, (await events.next()).controlId]).toEqual(['e1', 'e2', 'e3']);
    expect((await post(hub.url('/emr/events'), event('e4'), { authorization: 'Bearer not-the-token' })).status).toBe(401);
  });

  test('a signing secret shorter than 16 characters is a configuration error, named without the secret', async () => {
    const { inStatus } = await load({}, { webhookSecret: 'short-secret' });
    await inStatus.until((s) => s.text === 'error: CONFIG');
    const logged = JSON.stringify(logEvents());
    expect(logged).toContain('webhook secrets must be at least 16 characters');
    expect(logged).not.toContain('short-secret');
  });

  test('OAuth selected but no client secret: emr-out shows "not configured" (the webhook part is independent)', async () => {
    const fhir = await startFakeFhirServer({ auth: 'none' });
    try {
      const { outStatus, inStatus, caught } = await load({ baseUrl: fhir.baseUrl, authType: 'oauth', tokenUrl: `${fhir.baseUrl}/token`, clientId: 'x' }, { webhookSecret: OLD });
      await outStatus.until((s) => s.text === 'not configured');
      await inStatus.until((s) => s.text === 'listening');
      flowNode('out1').receive({ payload: { resourceType: 'Observation', status: 'final' } } as TestMsg);
      expect((await caught.next()).error).toMatchObject({ code: 'CONFIG' });
      expect(fhir.requests).toHaveLength(0);
    } finally {
      await fhir.close();
    }
  });

  test('no auth: a bare base URL is enough for emr-out', async () => {
    const fhir = await startFakeFhirServer({ auth: 'none' });
    try {
      const { saved } = await load({ baseUrl: fhir.baseUrl, authType: 'none' }, {});
      flowNode('out1').receive({ payload: { resourceType: 'Observation', status: 'final', identifier: [{ system: 'urn:x', value: '1' }] } } as TestMsg);
      expect((await saved.next()).fhir).toMatchObject({ created: true });
      expect(fhir.requests[0]?.headers.authorization).toBeUndefined();
    } finally {
      await fhir.close();
    }
  });
  test('secrets from the HUB_EMR_… variables the env properties name; an unset ${HUB_EMR_FHIR_URL} is "not configured"', async () => {
    process.env.HUB_EMR_TEST_SIGNING = NEW;
    try {
      const { events, outStatus } = await load({ baseUrl: '${HUB_EMR_FHIR_URL}', webhookSecretEnv: 'HUB_EMR_TEST_SIGNING' }, {});
      // Event ids are remembered process-wide (replays): this test's own id.
      expect((await post(hub.url('/emr/events'), event('env-1'), { 'x-emr-signature': signWebhook(NEW, event('env-1'), now()) })).status).toBe(202);
      expect((await events.next()).controlId).toBe('env-1');
      await outStatus.until((st) => st.text === 'not configured');
      expect(JSON.stringify(logEvents())).not.toContain('invalid EMR server configuration');
    } finally {
      delete process.env.HUB_EMR_TEST_SIGNING;
    }
  });

  test('a secret variable outside HUB_EMR_… is refused, naming the variable and never a value', async () => {
    process.env.HUB_STORE_KEYS = 'k1:c2VjcmV0LXN0b3JlLWtleS12YWx1ZQ==';
    try {
      await load({ webhookSecretEnv: 'HUB_STORE_KEYS' }, {});
      const logged = JSON.stringify(logEvents());
      expect(logged).toContain('HUB_STORE_KEYS');
      expect(logged).not.toContain('c2VjcmV0LXN0b3JlLWtleS12YWx1ZQ==');
      // Without a usable secret the events path is not served at all.
      expect((await post(hub.url('/emr/events'), event('env-2'), { 'x-emr-signature': signWebhook('c2VjcmV0LXN0b3JlLWtleS12YWx1ZQ==', event('env-2'), now()) })).status).toBe(404);
    } finally {
      delete process.env.HUB_STORE_KEYS;
    }
  });
});
