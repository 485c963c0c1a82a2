import { backoffDelay, DEFAULT_BACKOFF } from '../mllp/backoff';
import type { BackoffOptions } from '../mllp/backoff';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import type { X12Delivery, X12DeliveryReceipt } from './delivery';
import { X12DeliveryError } from './errors';
import { HttpTimeout, nodeHttpsRequest } from './https-request';
import type { HttpRequest, HttpRequestInit } from './https-request';

export interface HttpsX12DeliveryOptions {
  /** Submission endpoint, https only. */
  url: string;
  /** Sent as `Authorization: Bearer …` when set. */
  bearerToken?: string;
  /** Extra headers (API keys of clearinghouses that use their own header). */
  headers?: Record<string, string>;
  tls?: HttpRequestInit['tls'];
  /** Per-request deadline. Default 30000. */
  timeoutMs?: number;
  /** Attempts per delivery for retryable failures (first included). Default 3. */
  maxAttempts?: number;
  backoff?: Partial<BackoffOptions>;
}

export interface HttpsX12DeliveryDeps {
  request?: HttpRequest;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: Logger;
}

/**
 * POSTs interchanges to a clearinghouse API as `application/edi-x12`
 * (RFC 1767). The file name doubles as `Idempotency-Key`: it is unique per
 * ISA13, so a retry after a lost answer is recognisable to a receiver that
 * deduplicates.
 */
export class HttpsX12Delivery implements X12Delivery {
  private readonly request: HttpRequest;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly logger: Logger;
  private readonly url: URL;

  constructor(
    private readonly options: HttpsX12DeliveryOptions,
    deps: HttpsX12DeliveryDeps = {},
  ) {
    this.url = new URL(options.url);
    // Claims are PHI: never in clear text.
    if (this.url.protocol !== 'https:') throw new X12DeliveryError('clearinghouse URL must use https', 'CONFIG', false);
    this.request = deps.request ?? nodeHttpsRequest;
    this.sleep = deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = deps.random ?? Math.random;
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * @param fileName - unique per interchange; sent as Idempotency-Key and in Content-Disposition
   * @param x12 - the interchange
   * @throws X12DeliveryError AUTH (401/403), PROVIDER (4xx permanent, 5xx retryable), RATE_LIMITED, CONNECT_FAILED, TIMEOUT
   */
  async deliver(fileName: string, x12: string | Buffer): Promise<X12DeliveryReceipt> {
    const body = Buffer.isBuffer(x12) ? x12 : Buffer.from(x12, 'utf8');
    const headers: Record<string, string> = {
      'content-type': 'application/edi-x12',
      'content-length': String(body.length),
      'content-disposition': `attachment; filename="${fileName.replace(/["\\\r\n]/g, '_')}"`,
      'idempotency-key': fileName,
      ...this.options.headers,
    };
    if (this.options.bearerToken) headers.authorization = `Bearer ${this.options.bearerToken}`;
    const maxAttempts = Math.max(1, this.options.maxAttempts ?? 3);
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const peer = this.url.host;

    for (let attempt = 1; ; attempt++) {
      let error: X12DeliveryError;
      try {
        const res = await this.request(this.url, { method: 'POST', headers, body, timeoutMs, ...(this.options.tls ? { tls: this.options.tls } : {}) });
        if (res.status >= 200 && res.status < 300) {
          const providerRequestId = res.headers['x-request-id'] ?? res.headers['x-submission-id'];
          this.logger.info('x12 https delivery accepted', { peer, status: res.status, bytes: body.length, attempts: attempt, providerRequestId });
          return {
            transport: 'https',
            target: this.url.pathname,
            bytes: body.length,
            attempts: attempt,
            status: res.status,
            ...(providerRequestId ? { providerRequestId } : {}),
            responseBody: res.body,
          };
        }
        error = statusError(res.status, peer);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        error =
          err instanceof HttpTimeout
            ? new X12DeliveryError(`no answer from ${peer} within ${timeoutMs} ms`, 'TIMEOUT', true, undefined, { cause: err })
            : typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)
              ? // Trust failures do not heal by retrying: the CA configuration (or the server) must change.
                new X12DeliveryError(`certificate of ${peer} is not trusted`, 'AUTH', false, undefined, { cause: err })
              : new X12DeliveryError(`could not reach ${peer}`, 'CONNECT_FAILED', true, undefined, { cause: err });
      }
      if (!error.retryable || attempt >= maxAttempts) {
        this.logger.warn('x12 https delivery failed', { peer, status: error.status, attempts: attempt, ...summarizeError(error) });
        throw error;
      }
      const delay = backoffDelay(attempt - 1, { ...DEFAULT_BACKOFF, ...this.options.backoff }, this.random);
      this.logger.warn('x12 https delivery retrying', { peer, status: error.status, attempts: attempt, delayMs: delay, ...summarizeError(error) });
      await this.sleep(delay);
    }
  }

  async close(): Promise<void> {
    // node:https uses the global agent; nothing is held open between deliveries.
  }
}

function statusError(status: number, peer: string): X12DeliveryError {
  if (status === 401 || status === 403) return new X12DeliveryError(`${peer} refused the credentials (HTTP ${status})`, 'AUTH', false, status);
  if (status === 429) return new X12DeliveryError(`${peer} is rate limiting (HTTP 429)`, 'RATE_LIMITED', true, status);
  if (status === 408) return new X12DeliveryError(`${peer} timed out the request (HTTP 408)`, 'TIMEOUT', true, status);
  if (status >= 500) return new X12DeliveryError(`${peer} failed (HTTP ${status})`, 'PROVIDER', true, status);
  return new X12DeliveryError(`${peer} rejected the interchange (HTTP ${status})`, 'PROVIDER', false, status);
}
