import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { createMailService } from '../../adapters/sendgrid';
import { FakeSendGrid } from '../../test/support/fake-providers';
import { canariesIn, flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import { post, startHubHarness } from '../emr-in/testing/webhook-harness';
import type { HubHarness } from '../emr-in/testing/webhook-harness';
import accountInit = require('../sendgrid-account/sendgrid-account');
import { setSendGridMailFactory } from '../sendgrid-account/sendgrid-client';
import emailInit = require('../sendgrid-email/sendgrid-email');
import webhookInit = require('./sendgrid-webhook');

helper.init(require.resolve('node-red'));

const KEY = 'SG.loopback-key.0123456789abcdef';
const TEMPLATE = 'd-' + '0123456789abcdef'.repeat(2);
const PATIENT_EMAIL = 'canary.patient@example.org';
const PATH = '/sendgrid/events';
const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const PUBLIC_KEY = keys.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
const nowSec = (): number => Math.floor(Date.now() / 1000);

function signedBatch(batch: unknown[], opts: { timestamp?: number; key?: typeof keys.privateKey } = {}): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify(batch);
  const ts = String(opts.timestamp ?? nowSec());
  const signature = sign('sha256', Buffer.concat([Buffer.from(ts), Buffer.from(body)]), opts.key ?? keys.privateKey).toString('base64');
  return { body, headers: { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': ts, 'content-type': 'application/json' } };
}

describe('sendgrid-webhook node', () => {
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

  async function load(credentials: Record<string, unknown> = { acct: { apiKey: KEY, eventPublicKey: PUBLIC_KEY } }) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'acct', type: 'sendgrid-account', name: 'sendgrid', fromEmail: 'noreply@clinic.example', fromName: '', replyTo: '', categories: '', asmGroupId: '', tracking: false, sandbox: false, tolerance: '600' },
      { id: 'e1', z: 'f1', type: 'sendgrid-email', account: 'acct', templateId: TEMPLATE, categories: '', wires: [['sent']] },
      { id: 'w1', z: 'f1', type: 'sendgrid-webhook', account: 'acct', path: PATH, wires: [['events']] },
      { id: 'sent', z: 'f1', type: 'helper' },
      { id: 'events', z: 'f1', type: 'helper' },
    ];
    const inits = [withCatalog(accountInit, join(__dirname, '..', 'sendgrid-account'), 'sendgrid-account'), withCatalog(emailInit, join(__dirname, '..', 'sendgrid-email'), 'sendgrid-email'), withCatalog(webhookInit, __dirname, 'sendgrid-webhook')];
    await helper.load(inits.map((i) => hub.capture(i)), flow, credentials);
    hub.mount();
    return { sent: new MessageTap('sent'), events: new MessageTap('events'), status: new StatusTap('w1') };
  }

  async function sendEmail(sent: MessageTap): Promise<string> {
    flowNode('e1').receive({ to: PATIENT_EMAIL, templateData: {} } as TestMsg);
    return (await sent.next()).hubMessageId as string;
  }

  const event = (kind: string, hubMessageId: string, id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    email: PATIENT_EMAIL,
    timestamp: nowSec() - 5,
    event: kind,
    sg_event_id: id,
    sg_message_id: `${fake.messageIds.get(hubMessageId)}.filterdrecv-5.1`,
    hub_message_id: hubMessageId,
    ...extra,
  });

  test('a signed batch is applied to the email record, stored, answered 200, then emitted', async () => {
    const { sent, events, status } = await load();
    const id = await sendEmail(sent);
    const batch = signedBatch([event('processed', id, 'ev-1'), event('bounce', id, 'ev-2', { type: 'bounce', reason: `550 no such user ${PATIENT_EMAIL}` })]);
    const res = await post(hub.url(PATH), batch.body, batch.headers);
    expect(res.status).toBe(200);
    const msg = await events.next();
    expect(msg.payload).toEqual([expect.objectContaining({ hubMessageId: id, channel: 'email', state: 'failed', errorCode: 'SENDGRID_BOUNCE' })]);
    expect(msg.sendgrid).toEqual({ received: 2, duplicates: 0, ignored: 1 });
    expect(await hub.store.get(id)).toMatchObject({ status: 'error', errorCode: 'SENDGRID_BOUNCE' });
    expect(await hub.store.get(msg.hubMessageId as string)).toMatchObject({ direction: 'inbound', messageType: 'email.events' });
    await status.until((s) => s.text === 'received 1');
    const text = JSON.stringify([status.all, logEvents()]);
    expect(text).not.toContain(PATIENT_EMAIL);
    expect(canariesIn(text)).toEqual([]);
  });

  test('forged, stale and replayed batches get 4xx; nothing is applied or emitted', async () => {
    const { sent, events, status } = await load();
    const id = await sendEmail(sent);
    const attacker = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forged = signedBatch([event('delivered', id, 'ev-3')], { key: attacker.privateKey });
    expect((await post(hub.url(PATH), forged.body, forged.headers)).status).toBe(403);
    const stale = signedBatch([event('delivered', id, 'ev-3')], { timestamp: nowSec() - 3600 });
    expect((await post(hub.url(PATH), stale.body, stale.headers)).status).toBe(403);
    expect((await post(hub.url(PATH), forged.body, { 'content-type': 'application/json' })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 50));
    expect(events.pending).toBe(0);
    expect(await hub.store.get(id)).toMatchObject({ status: 'sent' });
    expect(await hub.store.count({ messageType: 'email.events' })).toBe(0);
    await status.until((s) => s.text === 'rejected: bad-signature');

    const good = signedBatch([event('delivered', id, 'ev-3')]);
    expect((await post(hub.url(PATH), good.body, good.headers)).status).toBe(200);
    await events.next();
    expect((await post(hub.url(PATH), good.body, good.headers)).status).toBe(409);
    await new Promise((r) => setTimeout(r, 50));
    expect(events.pending).toBe(0);
  });

  test('without the event key: "not configured", no route', async () => {
    const { status } = await load({ acct: { apiKey: KEY } });
    await status.until((s) => s.text === 'not configured');
    expect(hub.publicRoutes.has(PATH)).toBe(false);
  });

  test('a key that is not an ECDSA P-256 public key is a configuration error', async () => {
    const { status } = await load({ acct: { apiKey: KEY, eventPublicKey: 'bm90IGEga2V5' } });
    await status.until((s) => s.text === 'error: CONFIG');
  });
});
