import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { OAuthTokenError } from './errors';
import { defaultFetch } from './fetch-types';
import type { FetchFn } from './fetch-types';

/** Supplies the Authorization header for FHIR requests. */
export interface FhirAuth {
  /** The header value, e.g. `Bearer abc`; undefined for no auth. */
  authorization(): Promise<string | undefined>;
  /** The server answered 401: drop any cached credential so the next call fetches a new one. */
  invalidate(): void;
}

/** A static bearer token (an API key issued by the EMR). */
export class BearerTokenAuth implements FhirAuth {
  constructor(private readonly token: string) {}

  async authorization(): Promise<string | undefined> {
    return `Bearer ${this.token}`;
  }

  invalidate(): void {
    // a static token cannot be renewed
  }
}

export interface ClientCredentialsOptions {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  /**
   * How the client authenticates to the token endpoint: `basic` (HTTP Basic,
   * RFC 6749 §2.3.1, which servers MUST support) or `post` (credentials in
   * the form body). Default basic.
   */
  authMethod?: 'basic' | 'post';
  /** Renew this long before `expires_in` runs out, so a token never expires in flight. Default 30000. */
  expirySkewMs?: number;
  /** Lifetime assumed when the server omits `expires_in`. Default 300000. */
  defaultTtlMs?: number;
  timeoutMs?: number;
}

export interface ClientCredentialsDeps {
  fetch?: FetchFn;
  /** Epoch milliseconds. */
  clock?: () => number;
  logger?: Logger;
}

/**
 * OAuth 2.0 client-credentials grant (RFC 6749 §4.4), as SMART Backend
 * Services and most EMR APIs use for system-to-system access. The token is
 * cached until shortly before it expires; concurrent callers share one
 * token request.
 */
export class ClientCredentialsAuth implements FhirAuth {
  private readonly fetch: FetchFn;
  private readonly clock: () => number;
  private readonly logger: Logger;
  private token: { value: string; expiresAt: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(
    private readonly options: ClientCredentialsOptions,
    deps: ClientCredentialsDeps = {},
  ) {
    this.fetch = deps.fetch ?? defaultFetch;
    this.clock = deps.clock ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
  }

  async authorization(): Promise<string> {
    if (this.token && this.clock() < this.token.expiresAt) return `Bearer ${this.token.value}`;
    this.pending ??= this.requestToken().finally(() => {
      this.pending = null;
    });
    return `Bearer ${await this.pending}`;
  }

  invalidate(): void {
    this.token = null;
  }

  private async requestToken(): Promise<string> {
    const o = this.options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (o.scope) form.set('scope', o.scope);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if ((o.authMethod ?? 'basic') === 'basic') {
      // RFC 6749 §2.3.1: id and secret are form-urlencoded before Base64.
      headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(o.clientId)}:${encodeURIComponent(o.clientSecret)}`).toString('base64')}`;
    } else {
      form.set('client_id', o.clientId);
      form.set('client_secret', o.clientSecret);
    }
    const peer = safeHost(o.tokenUrl);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), o.timeoutMs ?? 15_000);
    let status: number;
    let text: string;
    try {
      const res = await this.fetch(o.tokenUrl, { method: 'POST', headers, body: form.toString(), signal: controller.signal });
      status = res.status;
      text = await res.text();
    } catch (err) {
      throw new OAuthTokenError(`token endpoint ${peer} unreachable`, true, undefined, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    if (status < 200 || status >= 300) {
      // 400 invalid_client / 401: the credentials are wrong and stay wrong.
      throw new OAuthTokenError(`token endpoint ${peer} refused the client (HTTP ${status})`, status >= 500 || status === 429, status);
    }
    let body: { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
    try {
      body = JSON.parse(text) as typeof body;
    } catch (err) {
      throw new OAuthTokenError(`token endpoint ${peer} sent no JSON`, false, status, { cause: err });
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') throw new OAuthTokenError(`token endpoint ${peer} sent no access_token`, false, status);
    if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') throw new OAuthTokenError(`token endpoint ${peer} sent a non-bearer token`, false, status);
    const ttl = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in * 1000 : (o.defaultTtlMs ?? 300_000);
    this.token = { value: body.access_token, expiresAt: this.clock() + Math.max(0, ttl - (o.expirySkewMs ?? 30_000)) };
    this.logger.debug('oauth token obtained', { peer, ttlMs: ttl });
    return body.access_token;
  }
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(invalid url)';
  }
}
