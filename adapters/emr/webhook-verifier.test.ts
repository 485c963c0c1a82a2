import { WebhookVerificationError } from './errors';
import { InMemoryReplayGuard } from './replay-guard';
import { signWebhook, WebhookVerifier } from './webhook-verifier';

const SECRET = 'emr-webhook-secret-0123456789';
const NOW_S = 1_742_500_000;
const body = Buffer.from(JSON.stringify({ id: 'evt-1', type: 'charge.posted' }));

function verifier(now = NOW_S * 1000, extra: Partial<ConstructorParameters<typeof WebhookVerifier>[0]> = {}): WebhookVerifier {
  return new WebhookVerifier({ secrets: [SECRET], tokens: ['emr-static-token-abc'], ...extra }, { clock: () => now });
}

function rejection(fn: () => unknown): WebhookVerificationError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    expect(err).toMatchObject({ code: 'AUTH', retryable: false });
    return err as WebhookVerificationError;
  }
  throw new Error('expected a rejection');
}

describe('WebhookVerifier (emr-in)', () => {
  test('a valid HMAC-SHA256 signature over timestamp and raw body is accepted', () => {
    const v = verifier();
    expect(v.verify(body, { 'X-EMR-Signature': signWebhook(SECRET, body, NOW_S) })).toMatchObject({ method: 'hmac', timestamp: NOW_S });
  });

  test('any configured secret matches (rotation), and any v1 in the header', () => {
    const v = verifier(NOW_S * 1000, { secrets: ['old-secret-0123456789', SECRET] });
    const header = `t=${NOW_S},v1=${'0'.repeat(64)},v1=${signWebhook(SECRET, body, NOW_S).split('v1=')[1]}`;
    expect(v.verify(body, { 'x-emr-signature': header }).method).toBe('hmac');
  });

  test('a forged signature (wrong secret) is rejected as bad-signature', () => {
    expect(rejection(() => verifier().verify(body, { 'x-emr-signature': signWebhook('attacker-secret-0123456', body, NOW_S) })).reason).toBe('bad-signature');
  });

  test('a tampered body is rejected as bad-signature', () => {
    const header = signWebhook(SECRET, body, NOW_S);
    const tampered = Buffer.from(body.toString().replace('evt-1', 'evt-2'));
    expect(rejection(() => verifier().verify(tampered, { 'x-emr-signature': header })).reason).toBe('bad-signature');
  });

  test('a re-signed timestamp without the secret fails the signature, not the clock', () => {
    const header = signWebhook(SECRET, body, NOW_S).replace(`t=${NOW_S}`, `t=${NOW_S + 1}`);
    expect(rejection(() => verifier().verify(body, { 'x-emr-signature': header })).reason).toBe('bad-signature');
  });

  test('a stale request (outside the 300 s window, either side) is rejected as stale', () => {
    const v = verifier();
    expect(rejection(() => v.verify(body, { 'x-emr-signature': signWebhook(SECRET, body, NOW_S - 301) })).reason).toBe('stale');
    expect(rejection(() => v.verify(body, { 'x-emr-signature': signWebhook(SECRET, body, NOW_S + 301) })).reason).toBe('stale');
    expect(v.verify(body, { 'x-emr-signature': signWebhook(SECRET, body, NOW_S - 299) }).method).toBe('hmac');
  });

  test('a replayed request is rejected as replayed; after release (store failed) the retry passes', () => {
    const v = verifier();
    const headers = { 'x-emr-signature': signWebhook(SECRET, body, NOW_S) };
    const first = v.verify(body, headers);
    expect(rejection(() => v.verify(body, headers)).reason).toBe('replayed');
    v.release(first);
    expect(v.verify(body, headers).method).toBe('hmac');
  });

  test('the replay memory forgets entries once their window has passed', () => {
    let now = NOW_S * 1000;
    const guard = new InMemoryReplayGuard(() => now);
    const v = new WebhookVerifier({ secrets: [SECRET] }, { clock: () => now, replayGuard: guard });
    v.verify(body, { 'x-emr-signature': signWebhook(SECRET, body, NOW_S) });
    expect(guard.size).toBe(1);
    now += 400_000;
    v.verify(body, { 'x-emr-signature': signWebhook(SECRET, body, NOW_S + 400) });
    expect(guard.size).toBe(1);
  });

  test('missing and malformed headers are rejected with their own reasons', () => {
    const v = verifier();
    expect(rejection(() => v.verify(body, {})).reason).toBe('missing');
    expect(rejection(() => v.verify(body, { 'x-emr-signature': 'v1=abc' })).reason).toBe('malformed');
    expect(rejection(() => v.verify(body, { 'x-emr-signature': `t=${NOW_S},v1=zz` })).reason).toBe('malformed');
    expect(rejection(() => v.verify(body, { authorization: 'Basic abc' })).reason).toBe('malformed');
  });

  test('token mode: the configured bearer token is accepted, any other is bad-token', () => {
    const v = verifier();
    expect(v.verify(body, { authorization: 'Bearer emr-static-token-abc' })).toEqual({ method: 'token' });
    expect(rejection(() => v.verify(body, { authorization: 'Bearer emr-static-token-abd' })).reason).toBe('bad-token');
    expect(rejection(() => v.verify(body, { authorization: 'Bearer x' })).reason).toBe('bad-token');
  });

  test('weak configuration is refused', () => {
    expect(() => new WebhookVerifier({})).toThrow(/secret or token/);
    expect(() => new WebhookVerifier({ secrets: ['short'] })).toThrow(/16 characters/);
  });
});
