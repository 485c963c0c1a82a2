import { BearerTokenAuth, ClientCredentialsAuth, FhirHttpError, FhirRestClient, FhirTimeoutError, OAuthTokenError, paymentNoticeFromRemittance } from '../../adapters/emr';
import type { FhirAuth, FhirClientOptions, FhirResource } from '../../adapters/emr';
import type { Logger, LogMeta } from '../../adapters/shared/logger';
import type { ClaimPaymentEvent } from '../../adapters/x12';
import { CANARY_MRN } from '../fixtures/canary';
import { x12CanariesIn } from '../fixtures/x12';
import { startFakeFhirServer } from '../support/fake-fhir-server';
import type { FakeFhirOptions, FakeFhirServer } from '../support/fake-fhir-server';

/**
 * emr-out's FHIR client against a loopback FHIR server that honours
 * If-None-Exist (test/support/fake-fhir-server.ts).
 */
const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.3.999.1';
const OBS_SYSTEM = 'urn:ivf-hub:observation';

function capture(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const at = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, message, ...meta }));
  };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, text: () => lines.join('\n') };
}

function hcgObservation(id: string): FhirResource {
  return {
    resourceType: 'Observation',
    identifier: [{ system: OBS_SYSTEM, value: id }],
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '21198-7', display: 'hCG beta' }] },
    subject: { identifier: { system: MRN_SYSTEM, value: CANARY_MRN }, display: 'CANARYSURNAME^CANARYGIVEN' },
    valueQuantity: { value: 152.4, unit: 'm[IU]/mL' },
  };
}

describe('FHIR client (emr-out) against a loopback FHIR server', () => {
  let server: FakeFhirServer;
  let client: FhirRestClient;
  let logs: ReturnType<typeof capture>;

  async function start(opts: FakeFhirOptions, auth: FhirAuth, clientOptions: Partial<FhirClientOptions> = {}): Promise<void> {
    server = await startFakeFhirServer(opts);
    logs = capture();
    client = new FhirRestClient({ baseUrl: server.baseUrl, maxAttempts: 3, backoff: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0 }, ...clientOptions }, { auth, logger: logs.logger });
  }

  afterEach(async () => {
    await client?.close();
    await server?.close();
    expect(x12CanariesIn(logs.text())).toEqual([]);
  });

  describe('bearer token', () => {
    beforeEach(() => start({ auth: 'bearer', staticToken: 'static-token-1' }, new BearerTokenAuth('static-token-1')));

    test('conditional create sends If-None-Exist on the business identifier and the bearer token', async () => {
      const r = await client.createOnce(hcgObservation('OBS-1'));
      expect(r).toMatchObject({ created: true, status: 201, id: '1', versionId: '1' });
      const post = server.requests.find((q) => q.method === 'POST' && q.path === '/fhir/Observation')!;
      expect(post.headers['if-none-exist']).toBe(`identifier=${OBS_SYSTEM}|OBS-1`);
      expect(post.headers.authorization).toBe('Bearer static-token-1');
      expect(post.headers['content-type']).toBe('application/fhir+json');
    });

    test('a retried conditional create does not duplicate: the first answer is lost, the retry finds the resource', async () => {
      server.dropResponseNext();
      const r = await client.createOnce(hcgObservation('OBS-2'));
      expect(r.created).toBe(false);
      expect(r.status).toBe(200);
      expect(server.requests.filter((q) => q.path === '/fhir/Observation')).toHaveLength(2);
      expect(server.all('Observation').filter((o) => o.identifier?.[0]?.value === 'OBS-2')).toHaveLength(1);

      // And a later repeat (a queue replay) is a no-op as well.
      const again = await client.createOnce(hcgObservation('OBS-2'));
      expect(again).toMatchObject({ created: false, id: r.id });
      expect(server.all('Observation')).toHaveLength(1);
    });

    test('5xx is retried, and succeeds when the server recovers', async () => {
      server.failNext(2, 503);
      const r = await client.createOnce(hcgObservation('OBS-3'));
      expect(r.created).toBe(true);
      expect(server.requests.filter((q) => q.path === '/fhir/Observation')).toHaveLength(3);
    });

    test('5xx that persists surfaces as a retryable FhirHttpError after maxAttempts', async () => {
      server.failNext(10, 502);
      const err = await client.createOnce(hcgObservation('OBS-4')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FhirHttpError);
      expect(err).toMatchObject({ code: 'PROVIDER', retryable: true, status: 502, issueCodes: ['transient'] });
      expect(server.requests.filter((q) => q.path === '/fhir/Observation')).toHaveLength(3);
      expect((err as Error).message).not.toContain(CANARY_MRN);
    });

    test('4xx is a permanent FhirHttpError and is not retried', async () => {
      server.failNext(1, 422);
      const err = await client.createOnce(hcgObservation('OBS-5')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'PROVIDER', retryable: false, status: 422, issueCodes: ['invalid'] });
      expect(server.requests.filter((q) => q.path === '/fhir/Observation')).toHaveLength(1);
    });

    test('a wrong token is AUTH, permanent', async () => {
      const other = new FhirRestClient({ baseUrl: server.baseUrl }, { auth: new BearerTokenAuth('wrong'), logger: logs.logger });
      await expect(other.createOnce(hcgObservation('OBS-6'))).rejects.toMatchObject({ code: 'AUTH', retryable: false, status: 401 });
      await other.close();
    });

    test('no answer within the deadline is a retryable FhirTimeoutError', async () => {
      const slow = new FhirRestClient({ baseUrl: server.baseUrl, timeoutMs: 200, maxAttempts: 1 }, { auth: new BearerTokenAuth('static-token-1') });
      server.hangNext();
      const err = await slow.createOnce(hcgObservation('OBS-7')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FhirTimeoutError);
      expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true });
      await slow.close();
    });

    test('upsert (conditional update) creates an Appointment, then updates the same one', async () => {
      const appt = (status: string): FhirResource => ({
        resourceType: 'Appointment',
        identifier: [{ system: 'urn:emr:appointment', value: 'APT-77' }],
        status,
        serviceType: [{ text: 'embryo-transfer' }],
        start: '2025-03-23T09:00:00-04:00',
        end: '2025-03-23T09:30:00-04:00',
        participant: [{ actor: { identifier: { system: MRN_SYSTEM, value: CANARY_MRN } }, status: 'accepted' }],
      });
      const first = await client.upsert(appt('booked'));
      const second = await client.upsert(appt('arrived'));
      expect(first).toMatchObject({ created: true, status: 201 });
      expect(second).toMatchObject({ created: false, status: 200, id: first.id, versionId: '2' });
      expect(server.all('Appointment')).toHaveLength(1);
      expect(server.all('Appointment')[0]).toMatchObject({ status: 'arrived' });
      expect(server.requests.find((q) => q.method === 'PUT')!.path).toBe('/fhir/Appointment?identifier=urn%3Aemr%3Aappointment%7CAPT-77');
    });

    test('DiagnosticReport: create once, then update by id', async () => {
      const report: FhirResource = { resourceType: 'DiagnosticReport', identifier: [{ system: 'urn:lab:report', value: 'RPT-1' }], status: 'preliminary', code: { text: 'Semen analysis' } };
      const created = await client.createOnce(report);
      const updated = await client.update({ ...created.resource, status: 'final' });
      expect(updated).toMatchObject({ id: created.id, versionId: '2', created: false });
      expect(server.all('DiagnosticReport')[0]).toMatchObject({ status: 'final' });
    });

    test('Patient lookup by identifier: found, not found, ambiguous; the MRN never goes into a URL', async () => {
      server.seed({ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: CANARY_MRN }], name: [{ family: 'CANARYSURNAME', given: ['CANARYGIVEN'] }] });
      const found = await client.findPatientByIdentifier({ system: MRN_SYSTEM, value: CANARY_MRN });
      expect(found).toMatchObject({ resourceType: 'Patient', name: [{ family: 'CANARYSURNAME' }] });
      expect(await client.findPatientByIdentifier({ system: MRN_SYSTEM, value: 'NOBODY-1' })).toBeNull();
      expect(server.requests.every((q) => !q.path.includes(CANARY_MRN))).toBe(true);

      server.seed({ resourceType: 'Patient', identifier: [{ system: MRN_SYSTEM, value: CANARY_MRN }] });
      const err = await client.findPatientByIdentifier({ system: MRN_SYSTEM, value: CANARY_MRN }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'PROVIDER', retryable: false, issueCodes: ['multiple-matches'] });
      expect((err as Error).message).not.toContain(CANARY_MRN);
    });

    test('an 835 payment posted twice as a PaymentNotice exists once', async () => {
      const event: ClaimPaymentEvent = {
        type: 'claim.payment',
        eventId: 'TRN123:ACCT-IVF-0318:PAYERICN1:payment',
        claimId: 'ACCT-IVF-0318',
        payerClaimControlNumber: 'PAYERICN1',
        statusCode: '1',
        denied: false,
        reversal: false,
        chargeCents: 770000,
        paidCents: 420000,
        patientResponsibilityCents: 50000,
        paymentDate: '20250415',
        paymentMethod: 'ACH',
        traceNumber: 'TRN123',
        payerName: 'KEY INSURANCE COMPANY',
        payerId: 'KEYINS01',
      };
      const notice = paymentNoticeFromRemittance(event, { identifierSystem: 'urn:ivf-hub:payment', claimSystem: 'urn:emr:account', recipient: { reference: 'Organization/clinic' }, now: () => new Date('2025-04-16T00:00:00Z') });
      expect(notice).toMatchObject({ amount: { value: 4200, currency: 'USD' }, paymentDate: '2025-04-15' });
      await client.createOnce(notice);
      await client.createOnce(notice);
      expect(server.all('PaymentNotice')).toHaveLength(1);
    });
  });

  describe('OAuth2 client credentials', () => {
    let now: number;
    const oauth = (secret = 'secret-abc'): ClientCredentialsAuth =>
      new ClientCredentialsAuth({ tokenUrl: server.tokenUrl, clientId: 'hub', clientSecret: secret, scope: 'system/*.write', expirySkewMs: 30_000 }, { clock: () => now });

    beforeEach(async () => {
      now = Date.UTC(2025, 2, 20, 12, 0, 0);
      server = await startFakeFhirServer({ auth: 'oauth', clientId: 'hub', clientSecret: 'secret-abc', tokenTtlSeconds: 600 });
      logs = capture();
    });

    test('the token comes from the token endpoint and is cached until shortly before expiry', async () => {
      const auth = oauth();
      client = new FhirRestClient({ baseUrl: server.baseUrl }, { auth, logger: logs.logger });
      await client.createOnce(hcgObservation('OA-1'));
      await client.createOnce(hcgObservation('OA-2'));
      expect(server.tokenRequests()).toBe(1);
      const tokenCall = server.requests.find((q) => q.path === '/token')!;
      expect(tokenCall.headers.authorization).toBe(`Basic ${Buffer.from('hub:secret-abc').toString('base64')}`);
      expect(new URLSearchParams(tokenCall.body).get('grant_type')).toBe('client_credentials');
      expect(new URLSearchParams(tokenCall.body).get('scope')).toBe('system/*.write');

      now += 569_000; // 600 s lifetime − 30 s skew − 1 s: still cached
      await client.createOnce(hcgObservation('OA-3'));
      expect(server.tokenRequests()).toBe(1);
      now += 2_000; // past the renewal point
      await client.createOnce(hcgObservation('OA-4'));
      expect(server.tokenRequests()).toBe(2);
    });

    test('concurrent requests share one token request', async () => {
      client = new FhirRestClient({ baseUrl: server.baseUrl }, { auth: oauth(), logger: logs.logger });
      await Promise.all([1, 2, 3, 4].map((n) => client.createOnce(hcgObservation(`OC-${n}`))));
      expect(server.tokenRequests()).toBe(1);
    });

    test('a revoked token (401) is renewed once and the request goes through', async () => {
      client = new FhirRestClient({ baseUrl: server.baseUrl }, { auth: oauth(), logger: logs.logger });
      await client.createOnce(hcgObservation('OR-1'));
      server.revokeTokens();
      const r = await client.createOnce(hcgObservation('OR-2'));
      expect(r.created).toBe(true);
      expect(server.tokenRequests()).toBe(2);
    });

    test('a refused client secret is a permanent OAuthTokenError (AUTH)', async () => {
      client = new FhirRestClient({ baseUrl: server.baseUrl }, { auth: oauth('wrong-secret'), logger: logs.logger });
      const err = await client.createOnce(hcgObservation('OX-1')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OAuthTokenError);
      expect(err).toMatchObject({ code: 'AUTH', retryable: false, status: 401 });
      expect((err as Error).message).not.toContain('wrong-secret');
      expect(server.all('Observation')).toHaveLength(0);
    });
  });
});
