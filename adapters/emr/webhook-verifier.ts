import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookVerificationError } from './errors';
import { InMemoryReplayGuard } from './replay-guard';
import type { ReplayGuard } from './replay-guard';

export type HeaderMap = Record<string, string | string[] | undefined>;

export interface WebhookVerifierOptions {
  /**
   * HMAC secrets; any one may match, so a secret can be rotated without
   * downtime (add the new one, switch the EMR, remove the old one).
   */
  secrets?: string[];
  /** Static tokens accepted as `Authorization: Bearer <token>` when the EMR cannot sign. */
  tokens?: string[];
  /** Header holding `t=<unix seconds>,v1=<hex HMAC>`. Default `x-emr-signature`. */
  signatureHeader?: string;
  /** Accept timestamps this far from now, either way (clock skew plus delivery delay). Default 300. */
  toleranceSeconds?: number;
}

export interface WebhookVerifierDeps {
  /** Epoch milliseconds. */
  clock?: () => number;
  replayGuard?: ReplayGuard;
}

export interface VerifiedRequest {
  method: 'hmac' | 'token';
  /** Signed timestamp (HMAC only), epoch seconds. */
  timestamp?: number;
  /** Reservation in the replay guard; release it if the event cannot be stored. */
  replayKey?: string;
}

/**
 * Authenticates EMR event requests. HMAC mode: the EMR sends
 * `t=<unix>,v1=<hex>` where v1 = HMAC-SHA256(secret, `${t}.${rawBody}`) over
 * the exact raw body bytes (re-serialised JSON would not match). The
 * timestamp bounds the replay window; within it, each signature is accepted
 * once. Comparisons are constant-time.
 */
export class WebhookVerifier {
  private readonly header: string;
  private readonly toleranceSeconds: number;
  private readonly clock: () => number;
  private readonly replay: ReplayGuard;
  private readonly tokenDigests: Buffer[];

  constructor(
    private readonly options: WebhookVerifierOptions,
    deps: WebhookVerifierDeps = {},
  ) {
    if (!options.secrets?.length && !options.tokens?.length) throw new Error('webhook verifier needs at least one secret or token');
    if (options.secrets?.some((s) => s.length < 16)) throw new Error('webhook secrets must be at least 16 characters');
    this.header = (options.signatureHeader ?? 'x-emr-signature').toLowerCase();
    this.toleranceSeconds = options.toleranceSeconds ?? 300;
    this.clock = deps.clock ?? Date.now;
    this.replay = deps.replayGuard ?? new InMemoryReplayGuard(this.clock);
    // Compare digests, not the tokens: equal lengths for timingSafeEqual, and no length leak.
    this.tokenDigests = (options.tokens ?? []).map((t) => sha256(Buffer.from(t, 'utf8')));
  }

  /**
   * @param rawBody - the request body exactly as received
   * @param headers - request headers (any case)
   * @throws WebhookVerificationError missing, malformed, bad-signature, stale, replayed or bad-token
   */
  verify(rawBody: Buffer, headers: HeaderMap): VerifiedRequest {
    const h = lowerCase(headers);
    const signature = h[this.header];
    if (signature !== undefined && this.options.secrets?.length) return this.verifyHmac(rawBody, signature);
    const auth = h.authorization;
    if (auth !== undefined && this.tokenDigests.length) return this.verifyToken(auth);
    throw new WebhookVerificationError('request carries no signature or token', 'missing');
  }

  /** Release a replay reservation after the event could not be stored. */
  release(verified: VerifiedRequest): void {
    if (verified.replayKey) this.replay.release(verified.replayKey);
  }

  private verifyHmac(rawBody: Buffer, header: string): VerifiedRequest {
    const parts = header.split(',').map((p) => p.trim().split('='));
    const t = parts.find(([k]) => k === 't')?.[1];
    const candidates = parts.filter(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/i.test(v)).map(([, v]) => Buffer.from(v!, 'hex'));
    if (!t || !/^\d{1,12}$/.test(t) || candidates.length === 0) throw new WebhookVerificationError('signature header is malformed', 'malformed');
    const timestamp = Number(t);
    const signedPayload = Buffer.concat([Buffer.from(`${t}.`, 'utf8'), rawBody]);
    const matched = (this.options.secrets ?? []).some((secret) => {
      const expected = createHmac('sha256', secret).update(signedPayload).digest();
      return candidates.some((c) => c.length === expected.length && timingSafeEqual(c, expected));
    });
    if (!matched) throw new WebhookVerificationError('signature does not match', 'bad-signature');
    // Freshness is checked after the signature, so an attacker learns nothing from forging timestamps.
    const nowSeconds = Math.floor(this.clock() / 1000);
    if (Math.abs(nowSeconds - timestamp) > this.toleranceSeconds) throw new WebhookVerificationError(`timestamp outside the ${this.toleranceSeconds} s window`, 'stale');
    const replayKey = `hmac:${sha256(signedPayload).toString('hex')}`;
    if (!this.replay.claim(replayKey, (timestamp + this.toleranceSeconds) * 1000 + 1000)) throw new WebhookVerificationError('request was already accepted (replay)', 'replayed');
    return { method: 'hmac', timestamp, replayKey };
  }

  private verifyToken(header: string): VerifiedRequest {
    const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
    if (!m) throw new WebhookVerificationError('authorization header is not a bearer token', 'malformed');
    const digest = sha256(Buffer.from(m[1]!, 'utf8'));
    // Check every token, so timing does not reveal which one matched.
    let ok = false;
    for (const d of this.tokenDigests) ok = timingSafeEqual(d, digest) || ok;
    if (!ok) throw new WebhookVerificationError('token is not accepted', 'bad-token');
    return { method: 'token' };
  }
}

/**
 * Produce a signature header as the EMR (or a test) would.
 * @param secret - shared secret
 * @param rawBody - exact body bytes
 * @param timestampSeconds - epoch seconds
 */
export function signWebhook(secret: string, rawBody: Buffer | string, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

function sha256(data: Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

function lowerCase(headers: HeaderMap): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = Array.isArray(v) ? v[0] : v;
  return out;
}
