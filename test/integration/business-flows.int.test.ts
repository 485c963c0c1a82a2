import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Stripe from 'stripe';
import twilio from 'twilio';
import { signWebhook } from '../../adapters/emr';
import { parseX12 } from '../../adapters/x12';
import { CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { canarySiu } from '../fixtures/siu';
import { fixtureJson, fixtureText, TEST_BILLING, TEST_PARTIES, x12CanariesIn } from '../fixtures/x12';
import { startFakeFhirServer } from '../support/fake-fhir-server';
import type { FakeFhirServer } from '../support/fake-fhir-server';
import { FakeStripe, FakeTwilio, parseFlatForm } from '../support/fake-providers';
import type { RecordedRequest } from '../support/fake-providers';
import { login, ROOT, startHubProcess } from '../support/hub-process';
import type { HubProcess } from '../support/hub-process';
import { canariesIn } from '../support/node-red-helper';
import { auth, waitUntil } from '../support/queue-hub';
import { startSshd } from '../support/sshd';
import type { SshdHandle } from '../support/sshd';

/**
 * The business reference flows (flows/billing.json, payments.json,
 * patient-messaging.json) in the hub process `npm start` runs, configured
 * only through environment variables, against loopback stand-ins over real
 * sockets: a FHIR server as the EMR, Stripe and Twilio fakes answering the
 * real SDKs, and OpenSSH as the clearinghouse's SFTP inbox.
 */
const ADMIN_PASSWORD = 'admin-password-for-tests';
const EMR_TOKEN = 'emr-static-bearer-token-0001';
const EMR_SECRET = 'emr-webhook-secret-0123456789';
const STRIPE_KEY = 'sk_test_51HubFlowLoopback0000';
const STRIPE_SECRET = 'whsec_flow_test_6d2b5e0c8f1a';
const TWILIO_ACCOUNT = 'AC' + '0123456789abcdef'.repeat(2);
const TWILIO_TOKEN = 'loopback-auth-token-6e5d4c3b2a19';
const TWILIO_SERVICE = 'MG' + 'fedcba9876543210'.repeat(2);
/** What Twilio is told to call back on; the test posts the same path to the hub and signs the public URL, as Twilio would. */
const PUBLIC_URL = 'https://hub.clinic.example/in';
const STAFF_PHONE = '+16175550199';

/** A fixed-offset zone in which it is early afternoon now, so quiet hours (21:00–08:00) never hold a reminder back. */
function afternoonZone(): string {
  const offset = 14 - new Date().getUTCHours();
  return offset >= 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}

/** HL7 DTM (UTC offset) `ms` from now. */
function dtmIn(ms: number): string {
  return `${new Date(Date.now() + ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;
}

describe('business reference flows in the hub process, configured by environment', () => {
  let sshd: SshdHandle;
  let fhir: FakeFhirServer;
  let stripe: FakeStripe;
  let tw: FakeTwilio;
  let hub: HubProcess;
  let admin: string;

  beforeAll(async () => {
    sshd = await startSshd();
    mkdirSync(join(sshd.dir, 'answers'));
    fhir = await startFakeFhirServer({ auth: 'bearer', staticToken: EMR_TOKEN });
    stripe = await new FakeStripe(STRIPE_KEY).start();
    tw = await new FakeTwilio(TWILIO_ACCOUNT, TWILIO_TOKEN).start();
    hub = await startHubProcess(
      {
        HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
        HUB_EMR_FHIR_URL: fhir.baseUrl,
        HUB_EMR_TOKEN: EMR_TOKEN,
        HUB_EMR_WEBHOOK_SECRET: EMR_SECRET,
        HUB_STRIPE_API_KEY: STRIPE_KEY,
        HUB_STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
        HUB_STRIPE_API_URL: stripe.server.baseUrl,
        HUB_TWILIO_ACCOUNT_SID: TWILIO_ACCOUNT,
        HUB_TWILIO_AUTH_TOKEN: TWILIO_TOKEN,
        HUB_TWILIO_FROM: TWILIO_SERVICE,
        HUB_TWILIO_API_URL: tw.baseUrl,
        HUB_PUBLIC_URL: PUBLIC_URL,
        HUB_CLINIC_TIME_ZONE: afternoonZone(),
        HUB_REMINDER_OFFSETS: '1m',
        HUB_STAFF_ALERT_PHONE: STAFF_PHONE,
        HUB_CLEARINGHOUSE_URL: `sftp://${sshd.username}@${sshd.host}:${sshd.port}${sshd.uploadDir}`,
        HUB_CLEARINGHOUSE_PRIVATE_KEY: sshd.userKey,
        HUB_CLEARINGHOUSE_HOST_KEY: sshd.hostKeySha256,
        HUB_CLEARINGHOUSE_INBOX: join(sshd.dir, 'answers'),
        HUB_CLEARINGHOUSE_POLL_SECONDS: '1',
        HUB_X12_PARTIES: JSON.stringify(TEST_PARTIES),
        HUB_X12_BILLING: JSON.stringify(TEST_BILLING),
        // Retries within a fraction of a second, so a failed provider call comes back while the test waits.
        HUB_QUEUE_DEFAULT_POLICY: JSON.stringify({ backoff: { minMs: 100, maxMs: 500, factor: 2, jitter: 0 } }),
      },
      30_000,
    );
    admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
  });

  afterAll(async () => {
    await hub?.stop();
    await Promise.all([fhir?.close(), stripe?.close(), tw?.close()]);
    await sshd?.stop();
  });

  const postIn = (path: string, body: string, contentType = 'text/plain'): Promise<Response> => fetch(`${hub.url}/in${path}`, { method: 'POST', headers: { ...auth(admin), 'content-type': contentType }, body });
  const smsTo = (to: string): RecordedRequest[] => tw.server.requests.filter((r) => r.path === tw.messagesPath && parseFlatForm(r.rawBody).To === to);
  const hubIdOf = (r: RecordedRequest): string | null => new URL(parseFlatForm(r.rawBody).StatusCallback!).searchParams.get('hubMessageId');

  type Listed = { id: string; status: string; errorCode: string | null; direction: string };
  async function messages(endpoint: string): Promise<Listed[]> {
    const res = await fetch(`${hub.url}/api/v1/messages?endpoint=${encodeURIComponent(endpoint)}&limit=100`, { headers: auth(admin) });
    return ((await res.json()) as { items: Listed[] }).items;
  }

  test('at start, only the queues of what the test leaves unset (SendGrid) wait for configuration; our nodes log no warning', async () => {
    // /readyz may answer before the child's log lines have come through the pipe; the queues log while the flows start.
    await waitUntil('the start log', () => hub.output().includes('Started flows'), 10_000, hub);
    const ours = ['billing', 'payments', 'patient-messaging'].flatMap((f) => JSON.parse(readFileSync(join(ROOT, 'flows', `${f}.json`), 'utf8')) as { id: string; type: string; queue?: string; requires?: string }[]);
    const waiting = [...hub.output().matchAll(/\[queue-in:(\w+)\][^\n]*waiting/g)].map((m) => m[1]);
    const oursWaiting = ours.filter((n) => n.type === 'queue-in' && waiting.includes(n.id)).map((n) => n.queue);
    expect(oursWaiting).toEqual(['staff-alert-emails']);
    const ids = new Set(ours.map((n) => n.id));
    const warnings = hub.output().split('\n').filter((l) => /"level":"(warn|error)"/.test(l) && [...l.matchAll(/\[[\w-]+:(\w+)\]/g)].some((m) => ids.has(m[1]!)));
    expect(warnings).toEqual([]);
  });

  test('SIU → a reminder SMS whose request carries no PHI: not the name, MRN, birth date or the kind of visit', async () => {
    const phone = '+16175550123';
    const res = await postIn('/appointments/siu', canarySiu('S12', { id: 'APPT-E2E-1', start: dtmIn(63_000), phone: '6175550123', email: 'canary.patient@example.org' }));
    expect(res.status).toBe(202);
    await waitUntil('the reminder SMS at the fake Twilio', () => smsTo(phone).length === 1, 20_000, hub);
    const [request] = smsTo(phone);
    const form = parseFlatForm(request!.rawBody);
    expect(form).toMatchObject({ To: phone, MessagingServiceSid: TWILIO_SERVICE });
    expect(form.Body).toMatch(/^Reminder from your care team: you have an appointment on .+ at .+\. Reply STOP to opt out\.$/);
    const wire = JSON.stringify({ form, headers: request!.headers, path: request!.path });
    expect(canariesIn(wire)).toEqual([]);
    for (const word of ['monitoring', 'MONITORING', 'ultrasound', 'canary.patient', 'APPT-E2E-1']) expect(wire).not.toContain(word);
    const id = hubIdOf(request!)!;
    await waitUntil('the reminder record sent', async () => (await messages('reminders')).some((m) => m.id === id && m.status === 'sent'), 10_000, hub);
    expect(hub.output()).not.toContain(CANARY_MRN);
  });

  test('STOP from a number (signed inbound webhook) suppresses its later reminders: no request reaches Twilio', async () => {
    const phone = '+16175550144';
    const params = { AccountSid: TWILIO_ACCOUNT, MessageSid: 'SM' + 'a'.repeat(32), From: phone, To: '+16175550000', Body: 'STOP' };
    const body = new URLSearchParams(params).toString();
    const forged = await fetch(`${hub.url}/in/twilio/inbound`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature('not-the-token-000', `${PUBLIC_URL}/twilio/inbound`, params) }, body });
    expect(forged.status).toBe(403);
    const stop = await fetch(`${hub.url}/in/twilio/inbound`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TWILIO_TOKEN, `${PUBLIC_URL}/twilio/inbound`, params) }, body });
    expect(stop.status).toBe(200);

    const before = (await messages('reminders')).length;
    expect((await postIn('/appointments/siu', canarySiu('S12', { id: 'APPT-E2E-2', start: dtmIn(62_000), phone: '6175550144' }))).status).toBe(202);
    await waitUntil('the suppressed reminder settled as an error', async () => {
      const items = await messages('reminders');
      return items.length > before && items.some((m) => m.status === 'error');
    }, 20_000, hub);
    expect(smsTo(phone)).toEqual([]);
  });

  test('S14 moves and S15 cancels: the first reminder time never sends, only the moved one would', async () => {
    const phone = '+16175550155';
    expect((await postIn('/appointments/siu', canarySiu('S12', { id: 'APPT-E2E-3', start: dtmIn(3_600_000), phone: '6175550155' }))).status).toBe(202);
    // Moved to start in about a minute: its reminder is due within seconds, the first one was cancelled.
    expect((await postIn('/appointments/siu', canarySiu('S14', { id: 'APPT-E2E-3', start: dtmIn(62_000) }))).status).toBe(202);
    await waitUntil('the moved reminder SMS', () => smsTo(phone).length === 1, 20_000, hub);
    expect((await postIn('/appointments/siu', canarySiu('S12', { id: 'APPT-E2E-4', start: dtmIn(3_600_000), phone: '6175550166' }))).status).toBe(202);
    expect((await postIn('/appointments/siu', canarySiu('S15', { id: 'APPT-E2E-4' }))).status).toBe(202);
    await waitUntil('two cancelled (filtered) reminders', async () => (await messages('reminders')).filter((m) => m.status === 'filtered').length === 2, 10_000, hub);
    expect(smsTo('+16175550166')).toEqual([]);
  });

  test('Twilio failing once (500) → the queue retries: one SMS in the end, with the same idempotency key on both attempts', async () => {
    const phone = '+16175550177';
    tw.server.failNext({ status: 500, body: { code: 20500, message: 'Internal Server Error', status: 500 }, path: /Messages\.json$/ });
    expect((await postIn('/appointments/siu', canarySiu('S12', { id: 'APPT-E2E-5', start: dtmIn(62_000), phone: '6175550177' }))).status).toBe(202);
    await waitUntil('the retried SMS accepted', async () => {
      const ids = smsTo(phone).map(hubIdOf);
      return ids.length === 2 && (await messages('reminders')).some((m) => m.id === ids[0] && m.status === 'sent');
    }, 20_000, hub);
    const attempts = smsTo(phone);
    expect(new Set(attempts.map(hubIdOf)).size).toBe(1);
    expect(tw.creationsByHubId.get(hubIdOf(attempts[0]!)!)).toBe(1);
  });

  test('trigger-shot instructions go out time-critical; an undelivered receipt alerts staff with the hub id only', async () => {
    const phone = '+16175550188';
    const res = await postIn('/messaging/urgent', JSON.stringify({ to: phone }), 'application/json');
    expect(res.status).toBe(202);
    await waitUntil('the instructions SMS', () => smsTo(phone).length === 1, 20_000, hub);
    const sent = parseFlatForm(smsTo(phone)[0]!.rawBody);
    expect(sent.Body).toMatch(/time-sensitive instructions/);
    const callback = new URL(sent.StatusCallback!);
    expect(callback.origin + callback.pathname).toBe(`${PUBLIC_URL}/twilio/status-urgent`);
    const params = { AccountSid: TWILIO_ACCOUNT, MessageSid: 'SM' + 'b'.repeat(32), MessageStatus: 'undelivered', ErrorCode: '30003', To: phone };
    const receipt = await fetch(`${hub.url}/in${callback.pathname.slice('/in'.length)}${callback.search}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(TWILIO_TOKEN, callback.href, params) },
      body: new URLSearchParams(params).toString(),
    });
    expect(receipt.status).toBe(200);
    await waitUntil('the staff alert SMS', () => smsTo(STAFF_PHONE).length === 1, 20_000, hub);
    const alert = parseFlatForm(smsTo(STAFF_PHONE)[0]!.rawBody).Body!;
    expect(alert).toMatch(/^Clinic hub: a time-critical patient message is not confirmed delivered\. Ref [0-9a-f-]{36}\. Check the monitor\.$/);
    expect(alert).not.toContain(phone);
  });

  test('HL7 DFT^P03 → an 837P in the clearinghouse inbox that parses back with the charges, and no PHI in the hub log', async () => {
    const before = new Set(readdirSync(sshd.uploadDir));
    expect((await postIn('/billing/dft', fixtureText('ivf-cycle.dft-p03.hl7'))).status).toBe(202);
    await waitUntil('an 837 file over SFTP', () => readdirSync(sshd.uploadDir).some((f) => !before.has(f) && f.endsWith('.837')), 20_000, hub);
    const file = readdirSync(sshd.uploadDir).find((f) => !before.has(f) && f.endsWith('.837'))!;
    const parsed = parseX12(readFileSync(join(sshd.uploadDir, file), 'utf8'));
    expect(parsed.kind).toBe('837P');
    if (parsed.kind !== '837P') return;
    expect(parsed.issues).toEqual([]);
    expect(parsed.claims).toHaveLength(1);
    expect(parsed.claims[0]!.lines.map((l) => [l.procedureCode, l.chargeCents])).toEqual([
      ['58970', 350_000],
      ['76948', 30_000],
      ['89250', 210_000],
      ['58974', 180_000],
    ]);
    expect(x12CanariesIn(hub.output())).toEqual([]);
    expect(canariesIn(hub.output())).toEqual([]);
  });

  test('a signed EMR charge event → the account Claim read from the EMR → an 837P over SFTP', async () => {
    const claim = fixtureJson('ivf-transfer.claim.fhir.json') as Record<string, unknown>;
    fhir.seed({ ...claim, resourceType: 'Claim', identifier: [{ system: 'urn:clinic:account', value: 'ACCT-IVF-0323' }] });
    const before = new Set(readdirSync(sshd.uploadDir));
    const body = JSON.stringify({
      id: 'evt-charge-e2e-1',
      type: 'charge.posted',
      occurredAt: '2025-03-23T17:00:00Z',
      data: { chargeId: 'CHG-4', patientId: CANARY_MRN, accountId: 'ACCT-IVF-0323', code: '58974', amount: { value: 1800, currency: 'USD' }, serviceDate: '2025-03-23', diagnoses: ['N97.9'] },
    });
    const forged = await fetch(`${hub.url}/in/emr/charges`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-emr-signature': signWebhook('not-the-emr-secret-0000', body, Math.floor(Date.now() / 1000)) } });
    expect(forged.status).toBe(401);
    const res = await fetch(`${hub.url}/in/emr/charges`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-emr-signature': signWebhook(EMR_SECRET, body, Math.floor(Date.now() / 1000)) } });
    expect(res.status).toBe(202);
    const fresh = (): string | undefined => readdirSync(sshd.uploadDir).find((f) => !before.has(f) && f.endsWith('.837'));
    await waitUntil('the claim file over SFTP', () => fresh() !== undefined, 20_000, hub);
    const file = fresh()!;
    const parsed = parseX12(readFileSync(join(sshd.uploadDir, file), 'utf8'));
    expect(parsed.kind === '837P' && parsed.claims.map((c) => c.claimId)).toEqual(['ACCT-IVF-0323']);
  });

  test('an 835 left on the clearinghouse SFTP server → stored, archived there, and its claim payments posted to the EMR', async () => {
    const isa = 'ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *250415*0800*^*00501*000000777*0*T*:';
    const remit = [
      isa,
      'GS*HP*PAYER*CLINIC*20250415*0800*777*X*005010X221A1',
      'ST*835*0001',
      'BPR*I*1650*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20250416',
      'TRN*1*EFTSFTP1*1512345678',
      'N1*PR*KEY INSURANCE COMPANY',
      'REF*2U*KEYINS01',
      'N1*PE*REPRODUCTIVE MEDICINE TEST GROUP*XX*1234567893',
      'LX*1',
      'CLP*ACCT-IVF-SFTP1*1*1800*1650*0*12*ICNSFTP1',
      'CAS*CO*45*150',
      'SE*11*0001',
      'GE*1*777',
      'IEA*1*000000777',
    ].join('~') + '~';
    const file = join(sshd.dir, 'answers', 'R0415.835');
    writeFileSync(file, remit);
    // As a finished upload looks: not changed in the last seconds.
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    await waitUntil('the claim payment in the EMR', () => fhir.all('PaymentNotice').some((n) => JSON.stringify(n.identifier).includes('EFTSFTP1')), 30_000, hub);
    // The move on the server follows the store and the hand-off to the flow, which may post first.
    await waitUntil('the file moved to the archive on the server', () => !existsSync(file), 10_000, hub);
    expect(readdirSync(join(sshd.dir, 'answers', 'archive'))).toEqual(['R0415.835']);
    const picked = async (): Promise<Listed[]> => (await messages('clearinghouse')).filter((m) => m.direction === 'inbound');
    const received = async (): Promise<number> => (await picked()).length;
    expect(await received()).toBe(1);
    // The posting flow finished with the file: its record says so.
    await waitUntil('the 835 record settled', async () => (await picked())[0]?.status === 'sent', 10_000, hub);
    // The same file again (as after a pick-up whose move failed): archived, not stored or sent on twice.
    const again = join(sshd.dir, 'answers', 'R0415-again.835');
    writeFileSync(again, remit);
    utimesSync(again, old, old);
    await waitUntil('the repeated file archived', () => !existsSync(again), 10_000, hub);
    expect(await received()).toBe(1);
    expect(hub.output()).toMatch(/clearinghouse file already stored; not sent on again/);

    // An operator reprocesses the stored file (say, after fixing the posting flow): posted again, idempotently.
    const [file835] = await picked();
    const notices = fhir.all('PaymentNotice').length;
    const postings = (): number => fhir.requests.filter((r) => r.method === 'POST' && r.path.includes('PaymentNotice')).length;
    const postedBefore = postings();
    const res = await fetch(`${hub.url}/api/v1/messages/${file835!.id}/reprocess`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'posting flow fixed' }) });
    expect(res.status).toBe(202);
    await waitUntil('the reprocessed file counted', async () => {
      const r = await fetch(`${hub.url}/api/v1/messages/${file835!.id}`, { headers: auth(admin) });
      return ((await r.json()) as { attempts: number }).attempts === 1;
    }, 10_000, hub);
    // Posted again, as a conditional create on the payment's event id: the EMR keeps one PaymentNotice.
    await waitUntil('the posting sent again', () => postings() > postedBefore, 20_000, hub);
    expect(fhir.all('PaymentNotice').length).toBe(notices);
  });

  test('a signed Stripe payment delivered twice → one PaymentNotice in the EMR ledger', async () => {
    const event = JSON.stringify({
      id: 'evt_e2e_1',
      object: 'event',
      type: 'payment_intent.succeeded',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object: { id: 'pi_e2e', object: 'payment_intent', amount: 20000, amount_received: 20000, currency: 'usd', latest_charge: 'ch_e2e', metadata: { reference: 'INV-E2E-77' } } },
    });
    const sign = (secret = STRIPE_SECRET): Record<string, string> => ({ 'stripe-signature': Stripe.webhooks.generateTestHeaderString({ payload: event, secret }), 'content-type': 'application/json' });
    expect((await fetch(`${hub.url}/in/stripe/webhook`, { method: 'POST', body: event, headers: sign('whsec_forged_0000') })).status).toBe(403);
    expect((await fetch(`${hub.url}/in/stripe/webhook`, { method: 'POST', body: event, headers: sign() })).status).toBe(200);
    expect((await fetch(`${hub.url}/in/stripe/webhook`, { method: 'POST', body: event, headers: sign() })).status).toBe(200);
    await waitUntil('the payment posting in the EMR', () => fhir.all('PaymentNotice').some((n) => JSON.stringify(n.identifier).includes('evt_e2e_1')), 20_000, hub);
    // The second delivery was recognised as already processed, so nothing was emitted for it.
    expect(hub.output()).toMatch(/stripe webhook replay refused[^\n]*evt_e2e_1[^\n]*processed/);
    const notices = fhir.all('PaymentNotice').filter((n) => JSON.stringify(n.identifier).includes('evt_e2e_1'));
    expect(notices).toEqual([expect.objectContaining({ identifier: [{ system: 'urn:ivf-hub:payment-notice', value: 'stripe:evt_e2e_1' }], amount: { value: 200, currency: 'USD' } })]);
  });

  test('an EMR invoice → a Stripe PaymentIntent with only an opaque reference and the amount', async () => {
    const body = JSON.stringify({
      id: 'evt-invoice-e2e-1',
      type: 'invoice.issued',
      occurredAt: new Date().toISOString(),
      data: { invoiceId: 'INV-000788', patientId: CANARY_MRN, total: { value: 350, currency: 'USD' }, lines: [{ code: '58970', amount: { value: 350, currency: 'USD' } }] },
    });
    const res = await fetch(`${hub.url}/in/emr/invoices`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-emr-signature': signWebhook(EMR_SECRET, body, Math.floor(Date.now() / 1000)) } });
    expect(res.status).toBe(202);
    const created = (): RecordedRequest[] => stripe.server.requests.filter((r) => r.method === 'POST' && r.path === '/v1/payment_intents');
    await waitUntil('the PaymentIntent at the fake Stripe', () => created().length === 1, 20_000, hub);
    const wire = created()[0]!.rawBody.toString();
    expect(wire).toContain('amount=35000');
    expect(wire).toContain('INV-000788');
    expect(canariesIn(wire)).toEqual([]);
    expect(wire).not.toContain('58970');
    expect(created()[0]!.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(hub.output()).not.toContain(CANARY_NAME.split('^')[0]);
  });
});

describe('business reference flows with nothing configured (`npm start` on a fresh machine)', () => {
  let hub: HubProcess;
  let admin: string;
  const ours = ['billing', 'payments', 'patient-messaging'].flatMap((f) => JSON.parse(readFileSync(join(ROOT, 'flows', `${f}.json`), 'utf8')) as { id: string; type: string; queue?: string }[]);

  beforeAll(async () => {
    hub = await startHubProcess({ HUB_ADMIN_PASSWORD: ADMIN_PASSWORD }, 30_000);
    admin = await login(hub.url, 'admin', ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await hub?.stop();
  });

  test('every queue in front of a destination waits for configuration; no warning or error from our nodes', async () => {
    const queueIns = ours.filter((n) => n.type === 'queue-in');
    const waitingIds = (): Set<string | undefined> => new Set([...hub.output().matchAll(/\[queue-in:(\w+)\][^\n]*waiting/g)].map((m) => m[1]));
    // The hub's log reaches this process through a pipe: the lines may still be on their way when login answers.
    for (let i = 0; i < 100 && queueIns.some((n) => !waitingIds().has(n.id)); i++) await new Promise((r) => setTimeout(r, 100));
    const waiting = waitingIds();
    expect(queueIns.length).toBeGreaterThanOrEqual(9);
    expect(queueIns.filter((n) => !waiting.has(n.id)).map((n) => n.queue)).toEqual([]);
    const ids = new Set(ours.map((n) => n.id));
    const warnings = hub.output().split('\n').filter((l) => /"level":"(warn|error)"/.test(l) && [...l.matchAll(/\[[\w-]+:(\w+)\]/g)].some((m) => ids.has(m[1]!)));
    expect(warnings).toEqual([]);
  });

  test('an SIU and a DFT are still accepted and kept: the reminder waits scheduled, the charges wait in the claims queue', async () => {
    const post = (path: string, body: string): Promise<Response> => fetch(`${hub.url}/in${path}`, { method: 'POST', headers: { ...auth(admin), 'content-type': 'text/plain' }, body });
    // Default offsets (24h,2h) with HUB_REMINDER_OFFSETS unset: an appointment 3 h ahead gets the 2 h reminder only.
    expect((await post('/appointments/siu', canarySiu('S12', { id: 'APPT-IDLE-1', start: dtmIn(3 * 3_600_000), phone: '6175550123' }))).status).toBe(202);
    expect((await post('/billing/dft', fixtureText('ivf-cycle.dft-p03.hl7'))).status).toBe(202);
    const items = async (endpoint: string): Promise<{ status: string }[]> => ((await (await fetch(`${hub.url}/api/v1/messages?endpoint=${endpoint}`, { headers: auth(admin) })).json()) as { items: { status: string }[] }).items;
    await waitUntil('the scheduled reminder and the built claim', async () => (await items('reminders')).length === 1 && (await items('emr-dft')).length === 1, 10_000, hub);
    expect((await items('reminders')).map((m) => m.status)).toEqual(['queued']);
    const stats = async (): Promise<{ queue: string; ready: number }[]> => ((await (await fetch(`${hub.url}/api/v1/queues`, { headers: auth(admin) })).json()) as { items: { queue: string; ready: number }[] }).items;
    await waitUntil('the DFT in the claims queue', async () => (await stats()).some((q) => q.queue === 'claims' && q.ready === 1), 10_000, hub);
    expect(hub.output()).not.toContain(CANARY_MRN);
  });
});
