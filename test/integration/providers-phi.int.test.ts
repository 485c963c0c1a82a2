import Stripe from 'stripe';
import { PhiPolicy, PhiPolicyError } from '../../adapters/phi-guard';
import { SendGridEmailSender, createMailService } from '../../adapters/sendgrid';
import { StripePaymentGateway, StripeWebhookReceiver } from '../../adapters/stripe';
import { TwilioSmsSender, createTwilioClient } from '../../adapters/twilio';
import { CANARY_DOB, CANARY_MRN, CANARY_NAME } from '../fixtures/canary';
import { FakeSendGrid, FakeStripe, FakeTwilio, captureLogger } from '../support/fake-providers';
import type { CapturedLogger } from '../support/fake-providers';

/**
 * One PHI policy in front of all three providers: a canary anywhere in a
 * request is refused before the SDK is called, the error names the field
 * and never the value, and no log line of the whole run carries a canary.
 */
const CANARY_FORMS = [CANARY_NAME, CANARY_MRN, CANARY_DOB, 'CANARYSURNAME', 'CANARYGIVEN', '1901-01-01'];
const ACCOUNT = 'AC' + '1'.repeat(32);
const SERVICE = 'MG' + '2'.repeat(32);
const TEMPLATE = 'd-' + 'a'.repeat(32);
const NOON_NY = new Date('2026-12-04T17:00:00Z');

let stripeFake: FakeStripe;
let twilioFake: FakeTwilio;
let sendgridFake: FakeSendGrid;
let log: CapturedLogger;
let policy: PhiPolicy;
let payments: StripePaymentGateway;
let sms: TwilioSmsSender;
let email: SendGridEmailSender;
let n = 0;
const id = (): string => `0193a2b4-0000-7000-9000-${String(++n).padStart(12, '0')}`;

beforeAll(async () => {
  stripeFake = await new FakeStripe('sk_test_phi').start();
  twilioFake = await new FakeTwilio(ACCOUNT, 'phi-token').start();
  sendgridFake = await new FakeSendGrid('SG.phi.key').start();
  log = captureLogger();
  policy = new PhiPolicy({ canaries: [CANARY_NAME, CANARY_MRN, CANARY_DOB] });
  payments = new StripePaymentGateway({}, { stripe: new Stripe('sk_test_phi', { host: '127.0.0.1', port: stripeFake.port, protocol: 'http', maxNetworkRetries: 0 }), phiPolicy: policy, logger: log.logger });
  sms = new TwilioSmsSender(
    { messagingServiceSid: SERVICE, statusCallbackUrl: 'https://hub.example/in/twilio/status', timeZone: 'America/New_York' },
    { client: createTwilioClient({ accountSid: ACCOUNT, authToken: 'phi-token', apiBaseUrl: twilioFake.baseUrl }), phiPolicy: policy, clock: () => NOON_NY, logger: log.logger },
  );
  email = new SendGridEmailSender({ from: { email: 'no-reply@clinic.example' } }, { mail: createMailService({ apiKey: 'SG.phi.key', apiBaseUrl: sendgridFake.baseUrl }), phiPolicy: policy, logger: log.logger });
});

afterAll(async () => {
  await Promise.all([payments.close(), sms.close(), email.close()]);
  await Promise.all([stripeFake.close(), twilioFake.close(), sendgridFake.close()]);
  // The whole run, every adapter, every level: no canary in any form.
  expect(log.lines.length).toBeGreaterThan(0);
  const text = log.lines.join('\n').toLowerCase();
  for (const c of CANARY_FORMS) expect(text).not.toContain(c.toLowerCase());
});

async function refusal(call: Promise<unknown>): Promise<PhiPolicyError> {
  const err = await call.then(
    () => {
      throw new Error('the request was sent');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PhiPolicyError);
  const message = (err as Error).message.toLowerCase();
  for (const c of CANARY_FORMS) expect(message).not.toContain(c.toLowerCase());
  return err as PhiPolicyError;
}

describe.each(CANARY_FORMS.slice(0, 3).map((c) => [c]))('canary %s', (canary) => {
  test('Stripe: refused in the description, in metadata and in invoice lines', async () => {
    expect((await refusal(payments.createPaymentIntent({ hubMessageId: id(), amountMinor: 100, currency: 'usd', description: `Balance ${canary}` }))).path).toBe('description');
    // The name does not even pass the opaque-reference check; the MRN and DOB look like ids and reach the policy.
    if (!canary.includes('^')) expect((await refusal(payments.createPaymentIntent({ hubMessageId: id(), amountMinor: 100, currency: 'usd', reference: canary }))).path).toBe('metadata.reference');
    const err = await refusal(payments.createInvoice({ hubMessageId: id(), customerId: 'cus_X', currency: 'usd', lines: [{ amountMinor: 100, description: `Visit ${canary}` }] }));
    expect(err.path).toBe('lines[0].description');
  });

  test('Twilio: refused in the body and in the recipient', async () => {
    expect((await refusal(sms.send({ hubMessageId: id(), to: '+15005550006', body: `Reminder for ${canary}` }))).path).toBe('body');
    if (/^\d+$/.test(canary)) expect((await refusal(sms.send({ hubMessageId: id(), to: `+1${canary}`, body: 'Hello' }))).path).toBe('to');
  });

  test('SendGrid: refused in template data and categories', async () => {
    expect((await refusal(email.send({ hubMessageId: id(), to: 'p@example.com', templateId: TEMPLATE, templateData: { nested: { line: canary } } }))).path).toBe('dynamicTemplateData.nested.line');
    expect((await refusal(email.send({ hubMessageId: id(), to: 'p@example.com', templateId: TEMPLATE, categories: [canary.replace(/\^/g, '-')] }))).path).toBe('categories[0]');
  });
});

test('configured field names and forbidden words are refused by the same policy for every provider', async () => {
  expect((await refusal(payments.createPaymentIntent({ hubMessageId: id(), amountMinor: 100, currency: 'usd', description: 'IVF package, 58970' }))).violations.map((v) => v.rule).sort()).toEqual(['cpt-code', 'forbidden-term']);
  expect((await refusal(sms.send({ hubMessageId: id(), to: '+15005550006', body: 'Diagnosis N97.9 confirmed' }))).violations).toEqual([{ path: 'body', rule: 'icd-code' }]);
  expect((await refusal(email.send({ hubMessageId: id(), to: 'p@example.com', templateId: TEMPLATE, templateData: { patientName: 'x', dob: 'y', diagnosis: 'z' } }))).violations.map((v) => v.path)).toEqual([
    'dynamicTemplateData.patientName',
    'dynamicTemplateData.dob',
    'dynamicTemplateData.diagnosis',
  ]);
});

test('nothing refused ever reached a provider; clean requests do, without canaries on the wire', async () => {
  expect(stripeFake.server.requests).toHaveLength(0);
  expect(twilioFake.server.requests).toHaveLength(0);
  expect(sendgridFake.server.requests).toHaveLength(0);
  await payments.createPaymentIntent({ hubMessageId: id(), amountMinor: 100, currency: 'usd' });
  await sms.send({ hubMessageId: id(), to: '+15005550006', body: 'You have a new message from your care team.' });
  await email.send({ hubMessageId: id(), to: 'p@example.com', templateId: TEMPLATE, templateData: { portalUrl: 'https://portal.example/m/1' } });
  const wire = [...stripeFake.server.requests, ...twilioFake.server.requests, ...sendgridFake.server.requests].map((r) => r.rawBody.toString().toLowerCase()).join('\n');
  expect(wire.length).toBeGreaterThan(0);
  for (const c of CANARY_FORMS) expect(wire).not.toContain(c.toLowerCase());
  expect(wire).not.toMatch(/\bivf\b/);
});

test('an inbound webhook carrying canaries leaves none in logs or errors', async () => {
  const secret = 'whsec_phi_test';
  const receiver = new StripeWebhookReceiver({ signingSecrets: secret }, { logger: log.logger, clock: () => NOON_NY });
  const payload = JSON.stringify({
    id: 'evt_phi',
    object: 'event',
    type: 'payment_intent.payment_failed',
    created: Math.floor(NOON_NY.getTime() / 1000),
    livemode: false,
    data: { object: { id: 'pi_phi', amount: 100, currency: 'usd', metadata: { note: CANARY_NAME }, last_payment_error: { code: 'card_declined', message: `Card of ${CANARY_NAME} declined` } } },
  });
  const header = Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp: Math.floor(NOON_NY.getTime() / 1000) });
  const outcome = await receiver.handle(Buffer.from(payload), { 'stripe-signature': header }, async () => undefined);
  expect(JSON.stringify(outcome.posting)).not.toContain('CANARY');
  const forged = await receiver.handle(Buffer.from(payload.replace('evt_phi', 'evt_phi2')), { 'stripe-signature': header }, async () => undefined).catch((e: unknown) => e);
  expect((forged as Error).message).not.toContain('CANARY');
});
