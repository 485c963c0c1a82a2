import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageStoreDeliverySink, PhiPolicy, PhiPolicyError, SqliteReplayStore, SqliteSentRegistry, WebhookReplayError, WebhookSignatureError, WebhookStaleError } from '../../adapters/phi-guard';
import { SendGridEmailSender, SendGridEventHandler, SendGridRequestError, createMailService } from '../../adapters/sendgrid';
import { createMessageStore } from '../../adapters/store';
import type { EncryptedMessageStore } from '../../adapters/store';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { FakeSendGrid, captureLogger, sendGridError } from '../support/fake-providers';
import type { CapturedLogger } from '../support/fake-providers';
import { testStoreKeys } from '../support/store-keys';

/**
 * sendgrid-email and sendgrid-webhook against the real @sendgrid/mail +
 * @sendgrid/client, pointed at a loopback server that answers like v3 Mail
 * Send; event batches signed with a P-256 key pair made here.
 */
const API_KEY = 'SG.loopbackKeyId.loopbackKeySecret0123456789';
const TEMPLATE = 'd-0123456789abcdef0123456789abcdef';
const PATIENT_EMAIL = 'patient.canary@example.com';
const CANARIES = [CANARY_NAME, CANARY_MRN, CANARY_DOB, 'CANARYSURNAME', 'CANARYGIVEN'];
const NOW = new Date('2026-12-04T15:00:00Z');
const nowSec = Math.floor(NOW.getTime() / 1000);
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

let dir: string;
let fake: FakeSendGrid;
let store: EncryptedMessageStore;
let sent: SqliteSentRegistry;
let replays: SqliteReplayStore;
let log: CapturedLogger;
let sender: SendGridEmailSender;
let events: SendGridEventHandler;

async function outboundRecord(): Promise<string> {
  return (await store.insert({ direction: 'outbound', endpoint: 'sendgrid-email', messageType: 'EMAIL', patientId: CANARY_MRN, status: 'processing', body: '{"template":"portal-notice"}' })).id;
}

function signedBatch(batch: unknown[], timestamp = nowSec): { body: Buffer; headers: Record<string, string> } {
  const body = Buffer.from(JSON.stringify(batch));
  const signature = sign('sha256', Buffer.concat([Buffer.from(String(timestamp)), body]), keys.privateKey).toString('base64');
  return { body, headers: { 'X-Twilio-Email-Event-Webhook-Signature': signature, 'X-Twilio-Email-Event-Webhook-Timestamp': String(timestamp), 'Content-Type': 'application/json' } };
}

function event(kind: string, hubMessageId: string, eventId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { email: PATIENT_EMAIL, timestamp: nowSec - 10, event: kind, sg_event_id: eventId, sg_message_id: `${fake.messageIds.get(hubMessageId)}.filterdrecv-5.1`, hub_message_id: hubMessageId, category: ['portal-notice'], ...extra };
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'providers-sendgrid-'));
  fake = await new FakeSendGrid(API_KEY).start();
  store = await createMessageStore({ url: `sqlite:${join(dir, 'messages.db')}`, dataDir: dir, ...testStoreKeys() });
  sent = new SqliteSentRegistry({ file: join(dir, 'providers.db') });
  replays = new SqliteReplayStore({ file: join(dir, 'providers.db') });
  log = captureLogger();
  sender = new SendGridEmailSender(
    { from: { email: 'no-reply@clinic.example', name: 'Riverside Clinic' }, categories: ['patient-notice'] },
    { mail: createMailService({ apiKey: API_KEY, apiBaseUrl: fake.baseUrl }), sent, phiPolicy: new PhiPolicy({ canaries: [CANARY_NAME, CANARY_MRN, CANARY_DOB] }), clock: () => NOW, logger: log.logger },
  );
  events = new SendGridEventHandler({ publicKey: PUBLIC_KEY }, { sent, sink: new MessageStoreDeliverySink(store, { logger: log.logger }), replayStore: replays, clock: () => NOW, logger: log.logger });
});

afterEach(async () => {
  await sender.close();
  await Promise.all([sent.close(), replays.close()]);
  await store.close();
  await fake.close();
  rmSync(dir, { recursive: true, force: true });
  const text = log.lines.join('\n');
  for (const c of CANARIES) expect(text.toLowerCase()).not.toContain(c.toLowerCase());
  expect(text).not.toContain(PATIENT_EMAIL);
});

describe('SendGridEmailSender', () => {
  test('sends a dynamic template with categories and the hub message id as custom arg', async () => {
    const id = await outboundRecord();
    const result = await sender.send({ hubMessageId: id, to: PATIENT_EMAIL, templateId: TEMPLATE, templateData: { portalUrl: 'https://portal.clinic.example/m/abc123', when: '08:30' }, categories: ['portal-notice'] });
    expect(result).toEqual({ outcome: 'sent', hubMessageId: id, providerMessageId: fake.messageIds.get(id) });
    const [req] = fake.server.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v3/mail/send' });
    expect(req!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req!.rawBody.toString())).toEqual({
      from: { email: 'no-reply@clinic.example', name: 'Riverside Clinic' },
      personalizations: [{ to: [{ email: PATIENT_EMAIL }], dynamic_template_data: { portalUrl: 'https://portal.clinic.example/m/abc123', when: '08:30' } }],
      template_id: TEMPLATE,
      categories: ['patient-notice', 'portal-notice'],
      custom_args: { hub_message_id: id },
      tracking_settings: { click_tracking: { enable: false, enable_text: false }, open_tracking: { enable: false } },
    });
  });

  test('a retry after a 500 sends once; a redelivery after success sends nothing', async () => {
    const id = await outboundRecord();
    fake.server.failNext({ status: 500, body: sendGridError(500, 'Internal error', null).body });
    const first = await sender.send({ hubMessageId: id, to: PATIENT_EMAIL, templateId: TEMPLATE }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(SendGridRequestError);
    expect(first).toMatchObject({ code: 'PROVIDER', retryable: true, status: 500 });
    await expect(sender.send({ hubMessageId: id, to: PATIENT_EMAIL, templateId: TEMPLATE })).resolves.toMatchObject({ outcome: 'sent' });
    await expect(sender.send({ hubMessageId: id, to: PATIENT_EMAIL, templateId: TEMPLATE })).resolves.toMatchObject({ outcome: 'duplicate', state: 'accepted' });
    expect(fake.server.requests.map((r) => (JSON.parse(r.rawBody.toString()) as { custom_args: Record<string, string> }).custom_args.hub_message_id)).toEqual([id, id]);
    expect(fake.creationsByHubId.get(id)).toBe(1);
    expect(fake.creations).toBe(1);
  });

  test.each([
    ['401 (bad key)', { status: 401, body: sendGridError(401, 'The provided authorization grant is invalid, expired, or revoked', null).body }, 'AUTH', false],
    ['429', { status: 429, body: sendGridError(429, 'too many requests', null).body }, 'RATE_LIMITED', true],
    ['400 naming a field', { status: 400, body: sendGridError(400, `Invalid address ${PATIENT_EMAIL}`, 'personalizations.0.to').body }, 'PROVIDER', false],
  ])('maps %s onto the hub codes without SendGrid’s message', async (_label, fault, code, retryable) => {
    fake.server.failNext(fault);
    const err = await sender.send({ hubMessageId: await outboundRecord(), to: PATIENT_EMAIL, templateId: TEMPLATE }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code, retryable });
    expect((err as Error).message).not.toContain(PATIENT_EMAIL);
  });

  test('the PHI guard refuses canaries, PHI field names, "IVF" and codes in template data or categories', async () => {
    const cases: [Record<string, unknown>, string[] | undefined, string][] = [
      [{ greeting: `Dear ${CANARY_NAME}` }, undefined, 'dynamicTemplateData.greeting'],
      [{ patientName: 'Jane' }, undefined, 'dynamicTemplateData.patientName'],
      [{ dob: '1990-01-01' }, undefined, 'dynamicTemplateData.dob'],
      [{ diagnosis: 'x' }, undefined, 'dynamicTemplateData.diagnosis'],
      [{ note: 'IVF cycle update' }, undefined, 'dynamicTemplateData.note'],
      [{ note: 'Z31.83 encounter' }, undefined, 'dynamicTemplateData.note'],
      [{ portalUrl: 'https://portal.clinic.example' }, ['ivf-reminders'], 'categories[1]'],
    ];
    for (const [templateData, categories, path] of cases) {
      const err = await sender.send({ hubMessageId: await outboundRecord(), to: PATIENT_EMAIL, templateId: TEMPLATE, templateData, categories }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PhiPolicyError);
      expect((err as PhiPolicyError).violations.map((v) => v.path)).toContain(path);
      expect((err as Error).message).not.toMatch(/jane|1990-01-01/i);
    }
    expect(fake.server.requests).toHaveLength(0);
  });
});

describe('SendGridEventHandler', () => {
  test('delivered and bounced events update the store; a replayed batch is rejected', async () => {
    const a = await outboundRecord();
    const b = await outboundRecord();
    await sender.send({ hubMessageId: a, to: PATIENT_EMAIL, templateId: TEMPLATE });
    await sender.send({ hubMessageId: b, to: 'other@example.com', templateId: TEMPLATE });
    const batch = signedBatch([event('processed', a, 'ev-a0'), event('delivered', a, 'ev-a1'), event('bounce', b, 'ev-b1', { type: 'bounce', reason: `550 <other@example.com> unknown`, status: '5.1.1' })]);
    await expect(events.handle(batch.body, batch.headers)).resolves.toMatchObject({ received: 3, duplicates: 0 });
    expect(await store.get(a)).toMatchObject({ status: 'sent', errorCode: null });
    expect(await store.get(b)).toMatchObject({ status: 'error', errorCode: 'SENDGRID_BOUNCE' });
    expect((await store.get(b))?.errorText).not.toContain('other@example.com');
    await expect(events.handle(batch.body, batch.headers)).rejects.toBeInstanceOf(WebhookReplayError);
  });

  test('a dropped event found by SendGrid’s message id marks the message failed', async () => {
    const id = await outboundRecord();
    await sender.send({ hubMessageId: id, to: PATIENT_EMAIL, templateId: TEMPLATE });
    const batch = signedBatch([event('dropped', id, 'ev-d1', { hub_message_id: undefined, reason: 'Bounced Address' })]);
    await events.handle(batch.body, batch.headers);
    expect(await store.get(id)).toMatchObject({ status: 'error', errorCode: 'SENDGRID_DROPPED' });
  });

  test('forged or stale batches are rejected and change nothing', async () => {
    const id = await outboundRecord();
    await sender.send({ hubMessageId: id, to: PATIENT_EMAIL, templateId: TEMPLATE });
    const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const body = Buffer.from(JSON.stringify([event('delivered', id, 'ev-x1')]));
    const forged = { 'x-twilio-email-event-webhook-signature': sign('sha256', Buffer.concat([Buffer.from(String(nowSec)), body]), attacker.privateKey).toString('base64'), 'x-twilio-email-event-webhook-timestamp': String(nowSec) };
    await expect(events.handle(body, forged)).rejects.toBeInstanceOf(WebhookSignatureError);
    const stale = signedBatch([event('delivered', id, 'ev-x1')], nowSec - 3600);
    await expect(events.handle(stale.body, stale.headers)).rejects.toBeInstanceOf(WebhookStaleError);
    expect((await store.get(id))?.status).toBe('processing');
    expect(await sent.get(id)).toMatchObject({ state: 'accepted' });
    // The same event, genuinely signed, is still processed: the rejections claimed nothing.
    const genuine = signedBatch([event('delivered', id, 'ev-x1')]);
    await events.handle(genuine.body, genuine.headers);
    expect((await store.get(id))?.status).toBe('sent');
  });
});
