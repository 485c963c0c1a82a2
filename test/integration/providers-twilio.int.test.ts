import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import twilio from 'twilio';
import {
  DeliveryFailedError,
  DeliveryPendingError,
  MessageStoreDeliverySink,
  PhiPolicy,
  PhiPolicyError,
  SqliteReplayStore,
  SqliteSentRegistry,
  assertDelivered,
} from '../../adapters/phi-guard';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { RecipientOptedOutError, SqliteOptOutRegistry, TwilioCallbackHandler, TwilioRequestError, TwilioSmsSender, createTwilioClient } from '../../adapters/twilio';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { FakeTwilio, captureLogger, parseFlatForm, twilioError } from '../support/fake-providers';
import type { CapturedLogger } from '../support/fake-providers';
import { testStoreKeys } from '../support/store-keys';

/**
 * twilio-sms and twilio-callback against the real twilio-node SDK, pointed
 * at a loopback server that answers like Twilio's Messages API, with the
 * message store on SQLite and the registries in SQLite files.
 */
const ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const TOKEN = 'loopback-auth-token-6e5d4c3b2a19';
const SERVICE = 'MG' + 'fedcba9876543210'.repeat(2);
const CALLBACK = 'https://hub.clinic.example/in/twilio/status';
const INBOUND = 'https://hub.clinic.example/in/twilio/inbound';
const PATIENT = '+15005550006';
const BODY = 'You have a new message from your care team. Please log in to the portal.';
const CANARIES = [CANARY_NAME, CANARY_MRN, CANARY_DOB, 'CANARYSURNAME', 'CANARYGIVEN'];
/** 10:00 in New York. */
const DAYTIME = new Date('2026-12-04T15:00:00Z');
/** 23:00 in New York. */
const NIGHT = new Date('2026-12-05T04:00:00Z');

let dir: string;
let fake: FakeTwilio;
let store: EncryptedMessageStore;
let sent: SqliteSentRegistry;
let optOuts: SqliteOptOutRegistry;
let replays: SqliteReplayStore;
let log: CapturedLogger;
let now: Date;
let sender: TwilioSmsSender;
let callbacks: TwilioCallbackHandler;

async function outboundRecord(): Promise<string> {
  const record = await store.insert({ direction: 'outbound', endpoint: 'twilio-sms', messageType: 'SMS', patientId: CANARY_MRN, status: 'processing', body: BODY });
  return record.id;
}

/** Twilio's status callback for a message, signed with twilio-node's helper at the URL the adapter gave Twilio. */
function statusCallback(hubMessageId: string, messageSid: string, status: string, extra: Record<string, string> = {}): { body: Buffer; headers: Record<string, string>; url: string } {
  const create = fake.server.requests.filter((r) => r.path === fake.messagesPath && parseFlatForm(r.rawBody).StatusCallback?.includes(hubMessageId)).pop();
  const url = parseFlatForm(create!.rawBody).StatusCallback!;
  const params = { AccountSid: ACCOUNT, MessageSid: messageSid, SmsSid: messageSid, MessageStatus: status, SmsStatus: status, To: PATIENT, MessagingServiceSid: SERVICE, ApiVersion: '2010-04-01', ...extra };
  return { body: Buffer.from(new URLSearchParams(params).toString()), headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(TOKEN, url, params) }, url };
}

function inbound(text: string, sid: string): { body: Buffer; headers: Record<string, string> } {
  const params = { AccountSid: ACCOUNT, MessageSid: sid, From: PATIENT, To: '+15005550001', Body: text, NumMedia: '0' };
  return { body: Buffer.from(new URLSearchParams(params).toString()), headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(TOKEN, INBOUND, params) } };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'providers-twilio-'));
  fake = await new FakeTwilio(ACCOUNT, TOKEN).start();
  store = await createMessageStore({ url: `sqlite:${join(dir, 'messages.db')}`, dataDir: dir, ...testStoreKeys() });
  sent = new SqliteSentRegistry({ file: join(dir, 'providers.db') });
  optOuts = new SqliteOptOutRegistry({ file: join(dir, 'providers.db') }, { secret: randomBytes(32) });
  replays = new SqliteReplayStore({ file: join(dir, 'providers.db') });
  log = captureLogger();
  now = DAYTIME;
  const clock = (): Date => now;
  sender = new TwilioSmsSender(
    { messagingServiceSid: SERVICE, statusCallbackUrl: CALLBACK, timeZone: 'America/New_York' },
    { client: createTwilioClient({ accountSid: ACCOUNT, authToken: TOKEN, apiBaseUrl: fake.baseUrl }), sent, optOuts, phiPolicy: new PhiPolicy({ canaries: [CANARY_NAME, CANARY_MRN, CANARY_DOB] }), clock, logger: log.logger },
  );
  callbacks = new TwilioCallbackHandler({ authToken: TOKEN, accountSid: ACCOUNT }, { sent, optOuts, sink: new MessageStoreDeliverySink(store, { logger: log.logger }), replayStore: replays, clock, logger: log.logger });
});

afterEach(async () => {
  await sender.close();
  await Promise.all([sent.close(), optOuts.close(), replays.close()]);
  await store.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
  const text = log.lines.join('\n');
  for (const c of CANARIES) expect(text.toLowerCase()).not.toContain(c.toLowerCase());
  expect(text).not.toContain(PATIENT);
  expect(text).not.toContain(BODY);
});

describe('TwilioSmsSender', () => {
  test('sends from the messaging service with a per-message status callback', async () => {
    const id = await outboundRecord();
    const result = await sender.send({ hubMessageId: id, to: '+1 (500) 555-0006', body: BODY });
    expect(result).toMatchObject({ outcome: 'sent', hubMessageId: id, status: 'accepted' });
    const [req] = fake.server.requests;
    expect(req).toMatchObject({ method: 'POST', path: `/2010-04-01/Accounts/${ACCOUNT}/Messages.json` });
    expect(req!.headers.authorization).toBe(`Basic ${Buffer.from(`${ACCOUNT}:${TOKEN}`).toString('base64')}`);
    expect(req!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = parseFlatForm(req!.rawBody);
    expect(form).toEqual({ To: PATIENT, Body: BODY, MessagingServiceSid: SERVICE, StatusCallback: `${CALLBACK}?hubMessageId=${id}&issued=${Math.floor(DAYTIME.getTime() / 1000)}` });
    expect(await sent.get(id)).toMatchObject({ state: 'accepted', providerId: result.outcome === 'sent' ? result.messageSid : '' });
  });

  test('a retry after a 500 sends once; a redelivery after success sends nothing', async () => {
    const id = await outboundRecord();
    fake.server.failNext({ status: 500, body: twilioError(500, 20500, 'Internal Server Error').body });
    const first = await sender.send({ hubMessageId: id, to: PATIENT, body: BODY }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(TwilioRequestError);
    expect(first).toMatchObject({ code: 'PROVIDER', retryable: true, status: 500, twilioCode: 20500 });
    expect(await sent.get(id)).toBeNull();
    await expect(sender.send({ hubMessageId: id, to: PATIENT, body: BODY })).resolves.toMatchObject({ outcome: 'sent' });
    await expect(sender.send({ hubMessageId: id, to: PATIENT, body: BODY })).resolves.toMatchObject({ outcome: 'duplicate', state: 'accepted' });
    expect(fake.server.requests).toHaveLength(2);
    expect(fake.server.requests.map((r) => new URL(parseFlatForm(r.rawBody).StatusCallback!).searchParams.get('hubMessageId'))).toEqual([id, id]);
    expect(fake.creationsByHubId.get(id)).toBe(1);
    expect(fake.creations).toBe(1);
  });

  test.each([
    ['429', 429, 20429, 'RATE_LIMITED', true],
    ['400 invalid number', 400, 21211, 'PROVIDER', false],
  ])('maps %s onto the hub codes without Twilio’s message', async (_label, status, code, hubCode, retryable) => {
    fake.server.failNext({ status, body: twilioError(status, code, `The 'To' number ${PATIENT} is not valid`).body });
    const err = await sender.send({ hubMessageId: await outboundRecord(), to: PATIENT, body: BODY }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: hubCode, retryable, twilioCode: code });
    expect((err as Error).message).not.toContain(PATIENT);
  });

  test('a wrong auth token is an AUTH error', async () => {
    const bad = new TwilioSmsSender({ messagingServiceSid: SERVICE, statusCallbackUrl: CALLBACK, timeZone: 'America/New_York' }, { client: createTwilioClient({ accountSid: ACCOUNT, authToken: 'wrong', apiBaseUrl: fake.baseUrl }), sent, optOuts, clock: () => now });
    await expect(bad.send({ hubMessageId: await outboundRecord(), to: PATIENT, body: BODY })).rejects.toMatchObject({ code: 'AUTH', retryable: false, status: 401 });
  });

  test('delivery receipts update the store through the signed status callback', async () => {
    const id = await outboundRecord();
    const result = await sender.send({ hubMessageId: id, to: PATIENT, body: BODY });
    const sid = result.outcome === 'sent' ? result.messageSid : '';
    const sentCb = statusCallback(id, sid, 'sent');
    await expect(callbacks.handleStatusCallback(sentCb.body, sentCb.headers, sentCb.url)).resolves.toMatchObject({ state: 'sent', changed: true });
    expect((await store.get(id))?.status).toBe('processing');
    const deliveredCb = statusCallback(id, sid, 'delivered');
    await callbacks.handleStatusCallback(deliveredCb.body, deliveredCb.headers, deliveredCb.url);
    expect(await store.get(id)).toMatchObject({ status: 'sent', errorCode: null });
    await expect(assertDelivered(sent, id)).resolves.toMatchObject({ state: 'delivered' });
  });

  test('an undelivered receipt marks the stored message as an error with Twilio’s code', async () => {
    const id = await outboundRecord();
    const result = await sender.send({ hubMessageId: id, to: PATIENT, body: BODY });
    const cb = statusCallback(id, result.outcome === 'sent' ? result.messageSid : '', 'undelivered', { ErrorCode: '30003' });
    await callbacks.handleStatusCallback(cb.body, cb.headers, cb.url);
    expect(await store.get(id)).toMatchObject({ status: 'error', errorCode: 'TWILIO_30003' });
    await expect(assertDelivered(sent, id)).rejects.toBeInstanceOf(DeliveryFailedError);
  });

  test('STOP by SMS blocks every later send; START allows it again', async () => {
    const stop = inbound('STOP', 'SMinbound0001');
    await expect(callbacks.handleInboundMessage(stop.body, stop.headers, INBOUND)).resolves.toMatchObject({ action: 'opt-out' });
    const blocked = await sender.send({ hubMessageId: await outboundRecord(), to: PATIENT, body: BODY }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(RecipientOptedOutError);
    expect(blocked).toMatchObject({ retryable: false });
    const timeCritical = await sender.send({ hubMessageId: await outboundRecord(), to: PATIENT, body: BODY, timeCritical: true }).catch((e: unknown) => e);
    expect(timeCritical).toBeInstanceOf(RecipientOptedOutError);
    expect(fake.server.requests).toHaveLength(0);
    now = new Date(DAYTIME.getTime() + 60_000);
    const start = inbound('start', 'SMinbound0002');
    await callbacks.handleInboundMessage(start.body, start.headers, INBOUND);
    await expect(sender.send({ hubMessageId: await outboundRecord(), to: PATIENT, body: BODY })).resolves.toMatchObject({ outcome: 'sent' });
  });

  test('Twilio’s own unsubscribed error (21610) is recorded so the next send does not try', async () => {
    fake.unsubscribed.add(PATIENT);
    await expect(sender.send({ hubMessageId: await outboundRecord(), to: PATIENT, body: BODY })).rejects.toBeInstanceOf(RecipientOptedOutError);
    expect(await optOuts.isOptedOut(PATIENT)).toBe(true);
    await expect(sender.send({ hubMessageId: await outboundRecord(), to: PATIENT, body: BODY })).rejects.toBeInstanceOf(RecipientOptedOutError);
    expect(fake.server.requests).toHaveLength(1);
  });

  test('quiet hours defer ordinary messages; time-critical ones go out and are checked for delivery', async () => {
    now = NIGHT;
    const routine = await outboundRecord();
    await expect(sender.send({ hubMessageId: routine, to: PATIENT, body: BODY })).resolves.toEqual({ outcome: 'deferred', hubMessageId: routine, until: new Date('2026-12-05T13:00:00Z') });
    expect(fake.server.requests).toHaveLength(0);
    expect(await sent.get(routine)).toBeNull();
    // In Los Angeles it is still 20:00: not quiet yet.
    await expect(sender.send({ hubMessageId: routine, to: PATIENT, body: BODY, timeZone: 'America/Los_Angeles' })).resolves.toMatchObject({ outcome: 'sent' });

    const trigger = await outboundRecord();
    const result = await sender.send({ hubMessageId: trigger, to: PATIENT, body: BODY, timeCritical: true });
    expect(result.outcome).toBe('sent');
    // The queue's delivery-check job: retryable until the receipt arrives, so the queue escalates at the deadline.
    const pending = await assertDelivered(sent, trigger).catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(DeliveryPendingError);
    expect(pending).toMatchObject({ retryable: true });
    const cb = statusCallback(trigger, result.outcome === 'sent' ? result.messageSid : '', 'delivered');
    await callbacks.handleStatusCallback(cb.body, cb.headers, cb.url);
    await expect(assertDelivered(sent, trigger)).resolves.toMatchObject({ state: 'delivered' });
  });

  test('the PHI guard refuses a canary or "IVF" in the body and nothing reaches Twilio', async () => {
    for (const body of [`Hi ${CANARY_NAME}, see you tomorrow`, 'Your IVF monitoring visit is at 8:00', `DOB ${CANARY_DOB}`, 'Your hCG result is 152.4 mIU/mL']) {
      const err = await sender.send({ hubMessageId: await outboundRecord(), to: PATIENT, body }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PhiPolicyError);
      expect(err).toMatchObject({ path: 'body', provider: 'twilio' });
      expect((err as Error).message).not.toContain(body);
    }
    expect(fake.server.requests).toHaveLength(0);
  });
});
