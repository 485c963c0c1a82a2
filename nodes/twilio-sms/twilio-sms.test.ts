import { join } from 'node:path';
import { createTwilioClient } from '../../adapters/twilio';
import { CANARY_NAME } from '../../test/fixtures/canary';
import { FakeTwilio, parseFlatForm, twilioError } from '../../test/support/fake-providers';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import accountInit = require('../twilio-account/twilio-account');
import { setTwilioClientFactory } from '../twilio-account/twilio-client';
import smsInit = require('./twilio-sms');

helper.init(require.resolve('node-red'));

const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const TOKEN = 'loopback-auth-token-6e5d4c3b2a19';
const SERVICE = 'MG' + 'fedcba9876543210'.repeat(2);
const PATIENT = '+15005550006';
const BODY = 'You have a new message from your care team. Please log in to the portal.';

/** A quiet window around now (UTC), so quiet hours are in force during the test. */
function quietNow(): { quietStart: string; quietEnd: string } {
  const at = (offsetMin: number): string => new Date(Date.now() + offsetMin * 60_000).toISOString().slice(11, 16);
  return { quietStart: at(-30), quietEnd: at(90) };
}

describe('twilio-sms node (real twilio-node SDK against a loopback Twilio)', () => {
  let hub: HubHarness;
  let fake: FakeTwilio;

  beforeEach(async () => {
    await helper.startServer();
    hub = await startHubHarness();
    fake = await new FakeTwilio(ACCOUNT, TOKEN).start();
    setTwilioClientFactory((o) => createTwilioClient({ ...o, apiBaseUrl: fake.baseUrl }));
  });

  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    setTwilioClientFactory();
    await fake.close();
    await hub.close();
  });

  async function load(account: Record<string, unknown> = {}, sms: Record<string, unknown> = {}, credentials: Record<string, unknown> = { acct: { authToken: TOKEN } }) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'twilio-account', name: 'twilio', accountSid: ACCOUNT, messagingServiceSid: SERVICE, publicBaseUrl: 'https://hub.clinic.example/in/', statusPath: '/twilio/status', timeZone: 'UTC', quietHours: false, quietStart: '21:00', quietEnd: '08:00', ...account },
      { id: 's1', z: 'f1', type: 'twilio-sms', account: 'acct', timeCritical: false, ...sms, wires: [['sent'], ['deferred']] },
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'deferred', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load([withCatalog(accountInit, join(__dirname, '..', 'twilio-account'), 'twilio-account'), withCatalog(smsInit, __dirname, 'twilio-sms')], flow, credentials);
    return { sent: new MessageTap('sent'), deferred: new MessageTap('deferred'), caught: new MessageTap('caught'), status: new StatusTap('s1') };
  }

  function noPhi(...things: unknown[]): void {
    const text = JSON.stringify([things, logEvents()]);
    expect(canariesIn(text)).toEqual([]);
    expect(text).not.toContain(PATIENT);
    expect(text).not.toContain(BODY);
    expect(text).not.toContain(TOKEN);
  }

  test('sends from the messaging service with a per-message status callback; a repeat is a duplicate, not a second SMS', async () => {
    const { sent, status } = await load();
    const record = await hub.store.insert({ direction: 'outbound', endpoint: 'reminders', messageType: 'SMS', status: 'processing', body: BODY });
    flowNode('s1').receive({ payload: BODY, to: '+1 (500) 555-0006', hubMessageId: record.id } as TestMsg);
    const first = await sent.next();
    expect(first.sms).toMatchObject({ outcome: 'sent', hubMessageId: record.id, status: 'accepted' });
    const form = parseFlatForm(fake.server.requests[0]!.rawBody);
    expect(form).toMatchObject({ To: PATIENT, Body: BODY, MessagingServiceSid: SERVICE });
    expect(form.StatusCallback).toMatch(new RegExp(`^https://hub\\.clinic\\.example/in/twilio/status\\?hubMessageId=${record.id}&issued=\\d+$`));
    flowNode('s1').receive({ payload: BODY, to: PATIENT, hubMessageId: record.id } as TestMsg);
    expect((await sent.next()).sms).toMatchObject({ outcome: 'duplicate', hubMessageId: record.id });
    expect(fake.creations).toBe(1);
    expect(await hub.store.get(record.id)).toMatchObject({ status: 'sent' });
    await status.until((s) => s.text === 'sent 2');
    noPhi(status.all);
  });

  test('a 500 is retryable; the retry of the same msg sends once', async () => {
    const { sent, caught } = await load();
    fake.server.failNext({ status: 500, body: twilioError(500, 20500, 'Internal Server Error').body });
    flowNode('s1').receive({ _msgid: 'sms-1', payload: BODY, to: PATIENT } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PROVIDER' });
    expect(failed.retryable).toBe(true);
    delete failed.error;
    flowNode('s1').receive(failed);
    const ok = await sent.next();
    expect(ok.hubMessageId).toBe(failed.hubMessageId);
    expect(fake.creationsByHubId.get(failed.hubMessageId as string)).toBe(1);
    expect(await hub.store.get(failed.hubMessageId as string)).toMatchObject({ status: 'sent', attempts: 2, messageType: 'SMS' });
    noPhi(failed.error);
  });

  test('a recipient who replied STOP at Twilio is refused permanently, and the next send does not even try', async () => {
    const { caught } = await load();
    fake.unsubscribed.add(PATIENT);
    flowNode('s1').receive({ payload: BODY, to: PATIENT } as TestMsg);
    const first = await caught.next();
    expect(first.error).toMatchObject({ code: 'PROVIDER' });
    expect(first.retryable).toBe(false);
    flowNode('s1').receive({ payload: BODY, to: PATIENT } as TestMsg);
    expect((await caught.next()).retryable).toBe(false);
    expect(fake.server.requests).toHaveLength(1);
    noPhi(first.error);
  });

  test('the PHI guard refuses clinical content permanently and nothing reaches Twilio', async () => {
    const { caught, status } = await load();
    flowNode('s1').receive({ payload: `Hi ${CANARY_NAME}, your IVF trigger shot is tonight`, to: PATIENT } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE' });
    expect(failed.retryable).toBe(false);
    expect(fake.server.requests).toHaveLength(0);
    await status.until((s) => s.text === 'error: PARSE');
    noPhi(failed.error, status.all);
  });

  test('quiet hours defer a reminder to output 2; a time-critical message goes out', async () => {
    const { sent, deferred } = await load({ quietHours: true, ...quietNow() });
    flowNode('s1').receive({ payload: BODY, to: PATIENT } as TestMsg);
    const later = await deferred.next();
    expect(later.sms).toMatchObject({ outcome: 'deferred' });
    expect(new Date((later.sms as { until: Date }).until).getTime()).toBeGreaterThan(Date.now());
    expect(await hub.store.get(later.hubMessageId as string)).toMatchObject({ status: 'queued' });
    expect(fake.server.requests).toHaveLength(0);
    flowNode('s1').receive({ payload: 'Please call the clinic now.', to: PATIENT, timeCritical: true } as TestMsg);
    expect((await sent.next()).sms).toMatchObject({ outcome: 'sent' });
  });

  test('without the auth token the node shows "not configured" and fails with CONFIG', async () => {
    const { caught, status } = await load({}, {}, {});
    await status.until((s) => s.text === 'not configured');
    flowNode('s1').receive({ payload: BODY, to: PATIENT } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'CONFIG' });
  });

  test('an unknown time zone is a configuration error, logged without the token', async () => {
    const { status } = await load({ timeZone: 'Mars/Olympus_Mons' });
    await status.until((s) => s.text === 'error: CONFIG');
    expect(JSON.stringify(logEvents())).not.toContain(TOKEN);
  });
});
