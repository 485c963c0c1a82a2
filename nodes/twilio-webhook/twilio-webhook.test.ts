import { join } from 'node:path';
import twilio from 'twilio';
import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { createTwilioClient } from '../../adapters/twilio';
import { ageRecord } from '../../test/support/age-record';
import { pollUntil } from '../../test/support/poll';
import { FakeTwilio, parseFlatForm } from '../../test/support/fake-providers';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { post, startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import accountInit = require('../twilio-account/twilio-account');
import { setTwilioClientFactory } from '../twilio-account/twilio-client';
import smsInit = require('../twilio-sms/twilio-sms');
import webhookInit = require('./twilio-webhook');

helper.init(require.resolve('node-red'));

const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const TOKEN = 'loopback-auth-token-6e5d4c3b2a19';
const SERVICE = 'MG' + 'fedcba9876543210'.repeat(2);
const PATIENT = '+15005550006';
const BODY = 'You have a new message from your care team. Please log in to the portal.';

describe('twilio-webhook node', () => {
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

  async function load(account: Record<string, unknown> = {}, settings: Record<string, unknown> = {}) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'twilio-account', name: 'twilio', accountSid: ACCOUNT, messagingServiceSid: SERVICE, publicBaseUrl: hub.url(''), statusPath: '/twilio/status', timeZone: 'UTC', quietHours: false, quietStart: '21:00', quietEnd: '08:00', ...account },
      { id: 's1', z: 'f1', type: 'twilio-sms', account: 'acct', timeCritical: true, wires: [['sent'], []] },
      { id: 'w1', z: 'f1', type: 'twilio-webhook', account: 'acct', inboundPath: '/twilio/inbound', ...settings, wires: [['status'], ['inbound']] },
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'status', z: 'f1', type: 'helper' },
      { id: 'inbound', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    const inits = [withCatalog(accountInit, join(__dirname, '..', 'twilio-account'), 'twilio-account'), withCatalog(smsInit, join(__dirname, '..', 'twilio-sms'), 'twilio-sms'), withCatalog(webhookInit, __dirname, 'twilio-webhook')];
    await helper.load(inits.map((i) => hub.capture(i)), flow, { acct: { authToken: TOKEN } });
    hub.mount();
    return { sent: new MessageTap('sent'), status: new MessageTap('status'), inbound: new MessageTap('inbound'), caught: new MessageTap('caught'), nodeStatus: new StatusTap('w1') };
  }

  /** A status callback to the URL the sender gave Twilio, signed as Twilio signs it. */
  function statusCallback(messageSid: string, status: string, extra: Record<string, string> = {}, token = TOKEN): { url: string; body: string; headers: Record<string, string> } {
    const create = fake.server.requests.filter((r) => r.path === fake.messagesPath).pop();
    const url = parseFlatForm(create!.rawBody).StatusCallback!;
    const params = { AccountSid: ACCOUNT, MessageSid: messageSid, MessageStatus: status, To: PATIENT, MessagingServiceSid: SERVICE, ApiVersion: '2010-04-01', ...extra };
    return { url, body: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params) } };
  }

  function inboundSms(text: string, sid: string, token = TOKEN): { url: string; body: string; headers: Record<string, string> } {
    const url = hub.url('/twilio/inbound');
    const params = { AccountSid: ACCOUNT, MessageSid: sid, From: PATIENT, To: '+15005550001', Body: text, NumMedia: '0' };
    return { url, body: new URLSearchParams(params).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(token, url, params) } };
  }

  function noPhi(...things: unknown[]): void {
    const text = JSON.stringify([things, logEvents()]);
    expect(canariesIn(text)).toEqual([]);
    expect(text).not.toContain(PATIENT);
    expect(text).not.toContain(BODY);
  }

  test('a signed status callback updates the SMS record, is stored, answered 200, then emitted', async () => {
    const { sent, status, nodeStatus } = await load();
    expect(hub.publicRoutes.has('/twilio/status')).toBe(true);
    expect(hub.publicRoutes.has('/twilio/inbound')).toBe(true);
    flowNode('s1').receive({ payload: BODY, to: PATIENT } as TestMsg);
    const sms = await sent.next();
    const sid = (sms.sms as { messageSid: string }).messageSid;
    const cb = statusCallback(sid, 'undelivered', { ErrorCode: '30003' });
    const res = await post(cb.url, cb.body, cb.headers);
    expect(res.status).toBe(200);
    const msg = await status.next();
    expect(msg.payload).toMatchObject({ hubMessageId: sms.hubMessageId, messageSid: sid, providerStatus: 'undelivered', state: 'failed', changed: true });
    expect(await hub.store.get(sms.hubMessageId as string)).toMatchObject({ status: 'error', errorCode: 'TWILIO_30003' });
    expect(await hub.store.get(msg.hubMessageId as string)).toMatchObject({ direction: 'inbound', messageType: 'sms.status', parentId: sms.hubMessageId });
    await nodeStatus.until((s) => s.text === 'received 1');
    noPhi(nodeStatus.all);
  });

  test('forged and replayed callbacks get 4xx and nothing is emitted or applied', async () => {
    const { sent, status, nodeStatus } = await load();
    flowNode('s1').receive({ payload: BODY, to: PATIENT } as TestMsg);
    const sms = await sent.next();
    const sid = (sms.sms as { messageSid: string }).messageSid;
    const forged = statusCallback(sid, 'delivered', {}, 'not-the-auth-token-0000');
    expect((await post(forged.url, forged.body, forged.headers)).status).toBe(403);
    const unsigned = statusCallback(sid, 'delivered');
    expect((await post(unsigned.url, unsigned.body, { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(401);
    // Signed for another URL (the query names another message): does not verify here.
    const moved = statusCallback(sid, 'delivered');
    expect((await post(moved.url.replace('hubMessageId=', 'hubMessageId=x'), moved.body, moved.headers)).status).toBe(403);
    await new Promise((r) => setTimeout(r, 50));
    expect(status.pending).toBe(0);
    expect(await hub.store.count({ messageType: 'sms.status' })).toBe(0);
    await nodeStatus.until((s) => s.text === 'rejected: bad-signature');

    const ok = statusCallback(sid, 'delivered');
    expect((await post(ok.url, ok.body, ok.headers)).status).toBe(200);
    await status.next();
    expect((await post(ok.url, ok.body, ok.headers)).status).toBe(409);
    await new Promise((r) => setTimeout(r, 50));
    expect(status.pending).toBe(0);
    noPhi(nodeStatus.all);
  });

  test('an inbound STOP opts the number out: TwiML answer, msg on output 2, and the next SMS is refused without calling Twilio', async () => {
    const { inbound, caught } = await load();
    const stop = inboundSms('STOP', 'SMinbound1');
    const res = await post(stop.url, stop.body, stop.headers);
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/xml/);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response></Response>');
    const msg = await inbound.next();
    expect(msg.payload).toBe('STOP');
    expect(msg.sms).toEqual({ messageSid: 'SMinbound1', action: 'opt-out', from: PATIENT });
    expect(await hub.store.get(msg.hubMessageId as string)).toMatchObject({ direction: 'inbound', messageType: 'SMS', controlId: 'SMinbound1' });
    await pollUntil('the STOP record to be sent', async () => (await hub.store.get(msg.hubMessageId as string))?.status === 'sent');

    flowNode('s1').receive({ payload: BODY, to: PATIENT } as TestMsg);
    const refused = await caught.next();
    expect(refused.retryable).toBe(false);
    expect(fake.server.requests).toHaveLength(0);

    const start = inboundSms('START', 'SMinbound2');
    expect((await post(start.url, start.body, start.headers)).status).toBe(200);
    expect(((await inbound.next()).sms as { action: string }).action).toBe('opt-in');
    const forged = inboundSms('START', 'SMinbound3', 'not-the-auth-token-0000');
    expect((await post(forged.url, forged.body, forged.headers)).status).toBe(403);
    noPhi();
  });

  test('an inbound reply a previous run stored and answered but never saw through the flow goes through it once the flows start; a status callback is never reprocessed', async () => {
    const reply = inboundSms('Running late, see you at 9', 'SMleft1');
    const left = await hub.store.insert({ direction: 'inbound', endpoint: 'twilio', nodeId: 'w1', flowId: 'f1', controlId: 'SMleft1', messageType: 'SMS', status: 'processing', contentType: 'application/x-www-form-urlencoded', body: reply.body });
    ageRecord(hub.dir, left.id, FOLLOW_TIMEOUT_MS + 1000);
    const { inbound, status } = await load();
    const msg = await inbound.next();
    expect(msg).toMatchObject({ payload: 'Running late, see you at 9', sms: { messageSid: 'SMleft1', action: null, from: PATIENT }, hubMessageId: left.id, controlId: 'SMleft1', messageType: 'SMS' });
    await pollUntil('the leftover to be sent', async () => (await hub.store.get(left.id))?.status === 'sent');

    const cb = await hub.store.insert({ direction: 'inbound', endpoint: 'twilio', nodeId: 'w1', controlId: 'SMx', messageType: 'sms.status', status: 'sent', contentType: 'application/x-www-form-urlencoded', body: 'MessageSid=SMx&MessageStatus=delivered' });
    const stored = (await hub.store.get(cb.id, { includeBody: true }))!;
    await expect(hub.reprocessors.get('w1')!({ ...stored, body: stored.body! })).rejects.toMatchObject({ code: 'CONFIG' });
    await new Promise((r) => setTimeout(r, 50));
    expect(inbound.pending + status.pending).toBe(0);
    noPhi();
  });

  test('an invalid Timeout setting: "error: CONFIG", nothing served', async () => {
    const { nodeStatus } = await load({}, { processingTimeoutMs: '1.5' });
    await nodeStatus.until((s) => s.text === 'error: CONFIG');
    expect(hub.publicRoutes.has('/twilio/inbound')).toBe(false);
  });

  test('without a public base URL the callbacks are "not configured" and not served', async () => {
    const { nodeStatus } = await load({ publicBaseUrl: '' });
    await nodeStatus.until((s) => s.text === 'not configured');
    expect(hub.publicRoutes.has('/twilio/status')).toBe(false);
  });
});
