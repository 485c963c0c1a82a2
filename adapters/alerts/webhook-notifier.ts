import { createHmac } from 'node:crypto';
import { IntegrationError } from '../shared/errors';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import type { AlertEvent } from './types';

export const SIGNATURE_HEADER = 'x-hub-signature-256';
export const ALERT_ID_HEADER = 'x-hub-alert-id';

/** A webhook delivery that failed for good (after its retries). */
export class AlertDeliveryError extends IntegrationError {}

export interface AlertNotifier {
  readonly name: string;
  /** Delivers one event; rejects with an {@link AlertDeliveryError} once it gives up. */
  notify(event: AlertEvent): Promise<void>;
  /** Abandons pending deliveries; safe to call twice. */
  close(): Promise<void>;
}

export interface WebhookNotifierOptions {
  url: string;
  /** When set, each request carries `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. */
  secret?: string | null;
  /** Per attempt. */
  timeoutMs?: number;
  attempts?: number;
  /** Pause before attempt n+1 is `backoffMs * 4^(n-1)`. */
  backoffMs?: number;
}

export interface WebhookNotifierDeps {
  fetch?: typeof fetch;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  logger?: Logger;
}

/** The signature a receiver recomputes over the raw request body. */
export function signAlertBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/**
 * POSTs each alert event as JSON to one URL. Retries connection failures,
 * timeouts, 429 and 5xx a few times; a 4xx other than 429 is final. Events
 * go out one at a time in the order given, so a receiver sees "fired" before
 * its "recovered". The URL is never logged: chat-tool webhook URLs carry
 * their secret in the path.
 */
export class WebhookNotifier implements AlertNotifier {
  readonly name = 'webhook';
  private readonly fetch: typeof fetch;
  private readonly sleep: NonNullable<WebhookNotifierDeps['sleep']>;
  private readonly logger: Logger;
  private readonly closing = new AbortController();
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: WebhookNotifierOptions,
    deps: WebhookNotifierDeps = {},
  ) {
    this.fetch = deps.fetch ?? fetch;
    this.sleep = deps.sleep ?? abortableSleep;
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * @param event - sent as the JSON body; its `id` is also the `X-Hub-Alert-Id` header (the same on retries)
   */
  notify(event: AlertEvent): Promise<void> {
    const run = this.chain.then(() => this.deliver(event));
    this.chain = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closing.abort();
    await this.chain;
  }

  private async deliver(event: AlertEvent): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    const body = JSON.stringify(event);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'ivf-interface-hub-alerts', [ALERT_ID_HEADER]: event.id };
    if (this.options.secret) headers[SIGNATURE_HEADER] = signAlertBody(body, this.options.secret);
    let last: AlertDeliveryError | null = null;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.closing.signal.aborted) throw new AlertDeliveryError('alert webhook closed before delivery', 'CONNECT_FAILED', true);
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 5000);
      try {
        const res = await this.fetch(this.options.url, {
          method: 'POST',
          headers,
          body,
          redirect: 'error',
          signal: AbortSignal.any([this.closing.signal, timeout]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        const retryable = res.status === 429 || res.status >= 500;
        last = new AlertDeliveryError(`alert webhook answered HTTP ${res.status}`, res.status === 429 ? 'RATE_LIMITED' : res.status === 401 || res.status === 403 ? 'AUTH' : 'PROVIDER', retryable);
        if (!retryable) break;
      } catch (err) {
        const timedOut = timeout.aborted;
        last = new AlertDeliveryError(timedOut ? 'alert webhook timed out' : 'alert webhook unreachable', timedOut ? 'TIMEOUT' : 'CONNECT_FAILED', true, { cause: err });
      }
      this.logger.warn('alert webhook attempt failed', { rule: event.rule, kind: event.kind, attempt, code: last.code });
      if (attempt < attempts) await this.sleep((this.options.backoffMs ?? 1000) * 4 ** (attempt - 1), this.closing.signal).catch(() => undefined);
    }
    throw last ?? new AlertDeliveryError('alert webhook not attempted', 'PROVIDER', false);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new Error('aborted'));
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
