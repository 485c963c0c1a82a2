import { join } from 'node:path';
import { createMailService } from '../../adapters/sendgrid';
import { CANARY_NAME } from '../../test/fixtures/canary';
import { FakeSendGrid, sendGridError } from '../../test/support/fake-providers';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import accountInit = require('../sendgrid-account/sendgrid-account');
import { setSendGridMailFactory } from '../sendgrid-account/sendgrid-client';
import emailInit = require('./sendgrid-email');

helper.init(require.resolve('node-red'));

const KEY = 'SG.loopback-key.0123456789abcdef';
const TEMPLATE = 'd-' + '0123456789abcdef'.repeat(2);
const PATIENT_EMAIL = 'canary.patient@example.org';

describe('sendgrid-email node (real @sendgrid/mail against a loopback SendGrid)', () => {
  let hub: HubHarness;
  let fake: FakeSendGrid;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
    fake = await new FakeSendGrid(KEY).start();
    setSendGridMailFactory((o) => createMailService({ ...o, apiBaseUrl: fake.baseUrl }));
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    setSendGridMailFactory();
    await fake.close();
    await hub.close();
  });

  async function load(credentials: Record<string, unknown> = { acct: { apiKey: KEY } }) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'sendgrid-account', name: 'sendgrid', fromEmail: 'noreply@clinic.example', fromName: 'Clinic', replyTo: '', categories: 'patient', asmGroupId: '', tracking: false, sandbox: false, tolerance: '600' },
      { id: 'e1', z: 'f1', type: 'sendgrid-email', account: 'acct', templateId: TEMPLATE, categories: 'portal-notice', wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load([withCatalog(accountInit, join(__dirname, '..', 'sendgrid-account'), 'sendgrid-account'), withCatalog(emailInit, __dirname, 'sendgrid-email')], flow, credentials);
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('e1') };
  }

  function noPhi(...things: unknown[]): void {
    const text = JSON.stringify([things, logEvents()]);
    expect(canariesIn(text)).toEqual([]);
    expect(text).not.toContain(PATIENT_EMAIL);
    expect(text).not.toContain(KEY);
  }

  test('sends the template with the hub message id as custom arg; a repeat is a duplicate, not a second email', async () => {
    const { out, status } = await load();
    flowNode('e1').receive({ _msgid: 'mail-1', to: PATIENT_EMAIL, payload: { portalUrl: 'https://portal.clinic.example/' } } as TestMsg);
    const first = await out.next();
    const key = first.hubMessageId as string;
    expect(first.email).toMatchObject({ outcome: 'sent', hubMessageId: key, providerMessageId: fake.messageIds.get(key) });
    const [req] = fake.server.requests;
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    const body = JSON.parse(req!.rawBody.toString()) as Record<string, unknown>;
    expect(body).toMatchObject({ template_id: TEMPLATE, custom_args: { hub_message_id: key }, categories: ['patient', 'portal-notice'], from: { email: 'noreply@clinic.example', name: 'Clinic' } });
    flowNode('e1').receive({ _msgid: 'mail-1', to: PATIENT_EMAIL, payload: {} } as TestMsg);
    expect((await out.next()).email).toMatchObject({ outcome: 'duplicate' });
    expect(fake.creations).toBe(1);
    expect(await hub.store.get(key)).toMatchObject({ direction: 'outbound', messageType: 'email', status: 'sent', endpoint: 'sendgrid' });
    await status.until((s) => s.text === 'sent 2');
    noPhi(status.all);
  });

  test('a 500 is retryable and the retry sends once; a 401 is AUTH', async () => {
    const { out, caught } = await load();
    fake.server.failNext({ ...sendGridError(500, 'Internal error', null) });
    flowNode('e1').receive({ to: PATIENT_EMAIL, templateData: {} } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PROVIDER' });
    expect(failed.retryable).toBe(true);
    delete failed.error;
    flowNode('e1').receive(failed);
    await out.next();
    expect(fake.creationsByHubId.get(failed.hubMessageId as string)).toBe(1);
    fake.server.failNext({ ...sendGridError(401, 'The provided authorization grant is invalid', null) });
    flowNode('e1').receive({ to: PATIENT_EMAIL } as TestMsg);
    const auth = await caught.next();
    expect(auth.error).toMatchObject({ code: 'AUTH' });
    expect(auth.retryable).toBe(false);
    noPhi(failed.error, auth.error);
  });

  test('the PHI guard refuses template data with patient content, permanently, before any request', async () => {
    const { caught } = await load();
    flowNode('e1').receive({ to: PATIENT_EMAIL, templateData: { note: `Embryo transfer for ${CANARY_NAME}` } } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE' });
    expect(failed.retryable).toBe(false);
    expect(fake.server.requests).toHaveLength(0);
    noPhi(failed.error);
  });

  test('without an API key: "not configured", CONFIG', async () => {
    const { caught, status } = await load({});
    await status.until((s) => s.text === 'not configured');
    flowNode('e1').receive({ to: PATIENT_EMAIL } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'CONFIG' });
  });
});
