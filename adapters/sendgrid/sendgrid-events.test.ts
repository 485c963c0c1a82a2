import { generateKeyPairSync, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { captureLogger } from '../../test/support/fake-providers/capture-logger';
import type { DeliveryUpdate } from '../phi-guard/delivery-status';
import { ProviderConfigError, WebhookPayloadError, WebhookReplayError, WebhookSignatureError, WebhookStaleError } from '../phi-guard/errors';
import { InMemorySentRegistry } from '../phi-guard/sent-registry';
import { EventWebhookVerifier, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './event-webhook-verifier';
import { SendGridEventHandler } from './sendgrid-events';

const NOW = new Date('2026-12-04T15:00:00Z');
const nowSec = Math.floor(NOW.getTime() / 1000);
const PATIENT_EMAIL = 'patient.canary@example.com';

// A key pair made here, standing in for the one SendGrid generates when signing is enabled.
const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
/** The verification key as SendGrid's settings page shows it: base64 of the DER SubjectPublicKeyInfo. */
const PUBLIC_KEY_B64 = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

/** SendGrid's scheme: ECDSA P-256 / SHA-256 over timestamp + payload, DER signature in base64. */
function signed(events: unknown[], opts: { key?: KeyObject; timestamp?: number } = {}): { body: Buffer; headers: Record<string, string> } {
  const body = Buffer.from(JSON.stringify(events));
  const timestamp = String(opts.timestamp ?? nowSec);
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), opts.key ?? privateKey).toString('base64');
  return { body, headers: { 'X-Twilio-Email-Event-Webhook-Signature': signature, 'X-Twilio-Email-Event-Webhook-Timestamp': timestamp, 'content-type': 'application/json' } };
}

function ev(event: string, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { email: PATIENT_EMAIL, timestamp: nowSec - 30, event, sg_event_id: id, sg_message_id: 'AbCdEf123.filterdrecv-1.2.3', hub_message_id: 'hub-1', ...extra };
}

async function setup(): Promise<{ handler: SendGridEventHandler; sent: InMemorySentRegistry; updates: DeliveryUpdate[]; lines: string[] }> {
  const sent = new InMemorySentRegistry();
  await sent.reserve('hub-1', 'email', NOW);
  await sent.markAccepted('hub-1', 'AbCdEf123', NOW);
  const updates: DeliveryUpdate[] = [];
  const { logger, lines } = captureLogger();
  const handler = new SendGridEventHandler({ publicKey: PUBLIC_KEY_B64 }, { sent, sink: { record: async (u) => void updates.push(u) }, logger, clock: () => NOW });
  return { handler, sent, updates, lines };
}

describe('EventWebhookVerifier', () => {
  test('accepts the key as base64 DER or PEM and refuses keys that are not P-256', () => {
    const { body, headers } = signed([ev('delivered', 'e1')]);
    expect(new EventWebhookVerifier({ publicKey: PUBLIC_KEY_B64 }).verify(body, headers, NOW)).toHaveLength(1);
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    expect(new EventWebhookVerifier({ publicKey: pem }).verify(body, headers, NOW)).toHaveLength(1);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(() => new EventWebhookVerifier({ publicKey: rsa })).toThrow(ProviderConfigError);
    expect(() => new EventWebhookVerifier({ publicKey: 'not a key' })).toThrow(ProviderConfigError);
  });

  test('header names are the ones SendGrid sends', () => {
    expect([SIGNATURE_HEADER, TIMESTAMP_HEADER]).toEqual(['x-twilio-email-event-webhook-signature', 'x-twilio-email-event-webhook-timestamp']);
  });
});

describe('SendGridEventHandler', () => {
  test('a valid batch applies delivered and bounce events to the registry and the sink', async () => {
    const { handler, sent, updates, lines } = await setup();
    await sent.reserve('hub-2', 'email', NOW);
    await sent.markAccepted('hub-2', 'XyZ987', NOW);
    await sent.reserve('hub-3', 'email', NOW);
    const { body, headers } = signed([
      ev('processed', 'e0'),
      ev('delivered', 'e1'),
      ev('open', 'e2'),
      ev('bounce', 'e3', { hub_message_id: 'hub-2', sg_message_id: 'XyZ987.filter', type: 'bounce', reason: `550 5.1.1 <${PATIENT_EMAIL}>: user unknown` }),
      ev('dropped', 'e4', { hub_message_id: undefined, sg_message_id: 'nobody.filter' }),
      ev('dropped', 'e5', { hub_message_id: 'hub-3', reason: 'Bounced Address' }),
    ]);
    const outcome = await handler.handle(body, headers);
    expect(outcome).toMatchObject({ received: 6, duplicates: 0, ignored: 3 });
    expect(updates.map((u) => [u.hubMessageId, u.state, u.errorCode])).toEqual([
      ['hub-1', 'delivered', null],
      ['hub-2', 'failed', 'SENDGRID_BOUNCE'],
      ['hub-3', 'failed', 'SENDGRID_DROPPED'],
    ]);
    expect(await sent.get('hub-1')).toMatchObject({ state: 'delivered' });
    expect(await sent.get('hub-2')).toMatchObject({ state: 'failed', errorCode: 'SENDGRID_BOUNCE' });
    expect(lines.join('\n')).not.toContain(PATIENT_EMAIL);
  });

  test.each([
    ['signed with another key', () => signed([ev('delivered', 'e1')], { key: other.privateKey }), WebhookSignatureError],
    ['altered after signing', () => ({ ...signed([ev('bounce', 'e1')]), body: Buffer.from(JSON.stringify([ev('delivered', 'e1')])) }), WebhookSignatureError],
    ['with a garbage signature', () => ({ body: Buffer.from('[]'), headers: { 'x-twilio-email-event-webhook-signature': 'AAAA', 'x-twilio-email-event-webhook-timestamp': String(nowSec) } }), WebhookSignatureError],
    ['without signature headers', () => ({ body: Buffer.from(JSON.stringify([ev('delivered', 'e1')])), headers: {} }), WebhookSignatureError],
    ['signed an hour ago', () => signed([ev('delivered', 'e1')], { timestamp: nowSec - 3600 }), WebhookStaleError],
  ])('rejects a batch %s and changes nothing', async (_label, make, errorClass) => {
    const { handler, sent, updates } = await setup();
    const { body, headers } = make();
    const err = await handler.handle(body, headers).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errorClass);
    expect((err as { httpStatus: number }).httpStatus).toBeGreaterThanOrEqual(400);
    expect((err as { httpStatus: number }).httpStatus).toBeLessThan(500);
    expect(updates).toEqual([]);
    expect(await sent.get('hub-1')).toMatchObject({ state: 'accepted' });
  });

  test('a replayed batch is rejected; a redelivery with new events processes only those', async () => {
    const { handler, updates } = await setup();
    const first = signed([ev('processed', 'e0')]);
    await handler.handle(first.body, first.headers);
    const replay = await handler.handle(first.body, first.headers).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(WebhookReplayError);
    expect(replay).toMatchObject({ httpStatus: 409, eventKey: 'e0' });
    const mixed = signed([ev('processed', 'e0'), ev('delivered', 'e1')]);
    await expect(handler.handle(mixed.body, mixed.headers)).resolves.toMatchObject({ duplicates: 1 });
    expect(updates.map((u) => u.state)).toEqual(['delivered']);
  });

  test('a validly signed body that is not an event array is a payload error', async () => {
    const { handler } = await setup();
    const { headers } = signed([]);
    const body = Buffer.from('{"event":"delivered"}');
    const timestamp = headers['X-Twilio-Email-Event-Webhook-Timestamp']!;
    headers['X-Twilio-Email-Event-Webhook-Signature'] = sign('sha256', Buffer.concat([Buffer.from(timestamp), body]), privateKey).toString('base64');
    await expect(handler.handle(body, headers)).rejects.toBeInstanceOf(WebhookPayloadError);
  });
});
