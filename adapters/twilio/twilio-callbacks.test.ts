import twilio from 'twilio';
import { captureLogger } from '../../test/support/fake-providers/capture-logger';
import type { DeliveryUpdate } from '../phi-guard/delivery-status';
import { WebhookPayloadError, WebhookReplayError, WebhookSignatureError, WebhookStaleError } from '../phi-guard/errors';
import { InMemorySentRegistry } from '../phi-guard/sent-registry';
import { InMemoryOptOutRegistry } from './opt-out-registry';
import { TwilioCallbackHandler } from './twilio-callbacks';

const ACCOUNT = 'AC' + 'a'.repeat(32);
const TOKEN = 'test-auth-token-0123456789abcdef';
const NOW = new Date('2026-12-04T15:00:00Z');
const issued = Math.floor(NOW.getTime() / 1000) - 60;
const STATUS_URL = `https://hub.clinic.example/in/twilio/status?hubMessageId=hub-1&issued=${issued}`;
const INBOUND_URL = 'https://hub.clinic.example/in/twilio/inbound';
const PATIENT = '+15005550006';

function form(params: Record<string, string>): Buffer {
  return Buffer.from(new URLSearchParams(params).toString());
}

/** Signed with twilio-node's own helper, as Twilio would sign it. */
function signed(url: string, params: Record<string, string>, token = TOKEN): { body: Buffer; headers: Record<string, string> } {
  return { body: form(params), headers: { 'X-Twilio-Signature': twilio.getExpectedTwilioSignature(token, url, params), 'content-type': 'application/x-www-form-urlencoded' } };
}

function status(messageStatus: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AccountSid: ACCOUNT, MessageSid: 'SM1', SmsSid: 'SM1', MessageStatus: messageStatus, SmsStatus: messageStatus, To: PATIENT, ApiVersion: '2010-04-01', ...extra };
}

async function setup(): Promise<{ handler: TwilioCallbackHandler; sent: InMemorySentRegistry; optOuts: InMemoryOptOutRegistry; updates: DeliveryUpdate[]; lines: string[] }> {
  const sent = new InMemorySentRegistry();
  await sent.reserve('hub-1', 'sms', NOW);
  await sent.markAccepted('hub-1', 'SM1', NOW);
  const optOuts = new InMemoryOptOutRegistry();
  const updates: DeliveryUpdate[] = [];
  const { logger, lines } = captureLogger();
  const handler = new TwilioCallbackHandler({ authToken: TOKEN, accountSid: ACCOUNT }, { sent, optOuts, sink: { record: async (u) => void updates.push(u) }, logger, clock: () => NOW });
  return { handler, sent, optOuts, updates, lines };
}

describe('TwilioCallbackHandler.handleStatusCallback', () => {
  test('a valid delivered callback updates the registry and the sink', async () => {
    const { handler, sent, updates } = await setup();
    const { body, headers } = signed(STATUS_URL, status('delivered'));
    await expect(handler.handleStatusCallback(body, headers, STATUS_URL)).resolves.toEqual({ hubMessageId: 'hub-1', messageSid: 'SM1', providerStatus: 'delivered', state: 'delivered', changed: true });
    expect(updates).toEqual([{ hubMessageId: 'hub-1', channel: 'sms', state: 'delivered', providerStatus: 'delivered', providerId: 'SM1', errorCode: null, at: NOW }]);
    expect(await sent.get('hub-1')).toMatchObject({ state: 'delivered' });
  });

  test('undelivered carries Twilio’s error code', async () => {
    const { handler, updates } = await setup();
    const { body, headers } = signed(STATUS_URL, status('undelivered', { ErrorCode: '30003' }));
    await handler.handleStatusCallback(body, headers, STATUS_URL);
    expect(updates[0]).toMatchObject({ state: 'failed', errorCode: 'TWILIO_30003', providerStatus: 'undelivered' });
  });

  test.each([
    ['forged (signed with another token)', () => signed(STATUS_URL, status('delivered'), 'not-the-token'), WebhookSignatureError],
    ['signed for another URL', () => signed(STATUS_URL.replace('hub-1', 'hub-2'), status('delivered')), WebhookSignatureError],
    ['a parameter changed after signing', () => ({ ...signed(STATUS_URL, status('undelivered')), body: form(status('delivered')) }), WebhookSignatureError],
    ['without a signature', () => ({ body: form(status('delivered')), headers: {} }), WebhookSignatureError],
  ])('rejects a callback %s and changes nothing', async (_label, make, errorClass) => {
    const { handler, sent, updates } = await setup();
    const { body, headers } = make();
    await expect(handler.handleStatusCallback(body, headers, STATUS_URL)).rejects.toBeInstanceOf(errorClass);
    expect(updates).toEqual([]);
    expect(await sent.get('hub-1')).toMatchObject({ state: 'accepted' });
  });

  test('rejects a stale callback (its URL was issued longer ago than the maximum age)', async () => {
    const { handler, updates } = await setup();
    const oldUrl = STATUS_URL.replace(`issued=${issued}`, `issued=${issued - 8 * 24 * 3600}`);
    const { body, headers } = signed(oldUrl, status('delivered'));
    const err = await handler.handleStatusCallback(body, headers, oldUrl).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WebhookStaleError);
    expect(err).toMatchObject({ httpStatus: 403, code: 'AUTH' });
    expect(updates).toEqual([]);
  });

  test('rejects a replayed callback; an out-of-order older status is accepted without change', async () => {
    const { handler, updates } = await setup();
    const delivered = signed(STATUS_URL, status('delivered'));
    await handler.handleStatusCallback(delivered.body, delivered.headers, STATUS_URL);
    const replay = await handler.handleStatusCallback(delivered.body, delivered.headers, STATUS_URL).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(WebhookReplayError);
    expect(replay).toMatchObject({ httpStatus: 409, reason: 'replayed' });
    const late = signed(STATUS_URL, status('sent'));
    await expect(handler.handleStatusCallback(late.body, late.headers, STATUS_URL)).resolves.toMatchObject({ changed: false, state: 'sent' });
    expect(updates).toHaveLength(1);
  });

  test('a failing sink leaves the registry unchanged and the callback retryable', async () => {
    const sent = new InMemorySentRegistry();
    await sent.reserve('hub-1', 'sms', NOW);
    let fail = true;
    const handler = new TwilioCallbackHandler({ authToken: TOKEN }, { sent, optOuts: new InMemoryOptOutRegistry(), sink: { record: async () => (fail ? Promise.reject(new Error('store down')) : undefined) }, clock: () => NOW });
    const { body, headers } = signed(STATUS_URL, status('delivered'));
    await expect(handler.handleStatusCallback(body, headers, STATUS_URL)).rejects.toThrow('store down');
    expect(await sent.get('hub-1')).toMatchObject({ state: 'sending' });
    fail = false;
    await expect(handler.handleStatusCallback(body, headers, STATUS_URL)).resolves.toMatchObject({ changed: true });
  });

  test('finds the message by MessageSid when the URL carries no hub id; refuses another account', async () => {
    const { handler, updates } = await setup();
    const plainUrl = 'https://hub.clinic.example/in/twilio/status';
    const ok = signed(plainUrl, status('delivered'));
    await expect(handler.handleStatusCallback(ok.body, ok.headers, plainUrl)).resolves.toMatchObject({ hubMessageId: 'hub-1', changed: true });
    const foreign = signed(plainUrl, status('failed', { AccountSid: 'AC' + 'b'.repeat(32), MessageSid: 'SM2' }));
    await expect(handler.handleStatusCallback(foreign.body, foreign.headers, plainUrl)).rejects.toBeInstanceOf(WebhookPayloadError);
    expect(updates).toHaveLength(1);
  });
});

describe('TwilioCallbackHandler.handleInboundMessage', () => {
  const inbound = (body: string, sid = 'SMin1'): Record<string, string> => ({ AccountSid: ACCOUNT, MessageSid: sid, From: PATIENT, To: '+15005550001', Body: body, NumMedia: '0' });

  test('STOP opts the sender out, START back in; nothing of the message is logged', async () => {
    const { handler, optOuts, lines } = await setup();
    const stop = signed(INBOUND_URL, inbound('Stop'));
    await expect(handler.handleInboundMessage(stop.body, stop.headers, INBOUND_URL)).resolves.toMatchObject({ action: 'opt-out', messageSid: 'SMin1', from: PATIENT });
    expect(await optOuts.isOptedOut(PATIENT)).toBe(true);
    const start = signed(INBOUND_URL, inbound('START', 'SMin2'));
    const outcome = await handler.handleInboundMessage(start.body, start.headers, INBOUND_URL, new Date(NOW.getTime() + 1000));
    expect(outcome.action).toBe('opt-in');
    expect(outcome.twiml).toContain('<Response></Response>');
    expect(await optOuts.isOptedOut(PATIENT)).toBe(false);
    expect(lines.join('\n')).not.toContain(PATIENT);
    expect(lines.join('\n')).not.toMatch(/stop|start/i);
  });

  test('a replayed STOP is rejected and a forged one changes nothing', async () => {
    const { handler, optOuts } = await setup();
    const forged = signed(INBOUND_URL, inbound('STOP'), 'wrong-token');
    await expect(handler.handleInboundMessage(forged.body, forged.headers, INBOUND_URL)).rejects.toBeInstanceOf(WebhookSignatureError);
    expect(await optOuts.isOptedOut(PATIENT)).toBe(false);
    const stop = signed(INBOUND_URL, inbound('STOP'));
    await handler.handleInboundMessage(stop.body, stop.headers, INBOUND_URL);
    const start = signed(INBOUND_URL, inbound('START', 'SMin2'));
    await handler.handleInboundMessage(start.body, start.headers, INBOUND_URL, new Date(NOW.getTime() + 1000));
    await expect(handler.handleInboundMessage(stop.body, stop.headers, INBOUND_URL, new Date(NOW.getTime() + 2000))).rejects.toBeInstanceOf(WebhookReplayError);
    expect(await optOuts.isOptedOut(PATIENT)).toBe(false);
  });

  test('an ordinary reply changes no consent', async () => {
    const { handler, optOuts } = await setup();
    const msg = signed(INBOUND_URL, inbound('Can we stop by at 3?'));
    await expect(handler.handleInboundMessage(msg.body, msg.headers, INBOUND_URL)).resolves.toMatchObject({ action: null });
    expect(await optOuts.isOptedOut(PATIENT)).toBe(false);
  });
});
