import Stripe from 'stripe';
import { ProviderConfigError, WebhookPayloadError, WebhookReplayError, WebhookSignatureError, WebhookStaleError } from '../phi-guard/errors';
import { headerValue } from '../phi-guard/headers';
import type { HeaderMap } from '../phi-guard/headers';
import { InMemoryReplayStore } from '../phi-guard/replay-store';
import type { ReplayStore } from '../phi-guard/replay-store';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { postingFromEvent } from './payment-posting';
import type { PaymentPosting } from './payment-posting';

export const STRIPE_SIGNATURE_HEADER = 'stripe-signature';

export interface StripeWebhookOptions {
  /** The endpoint's signing secret (`whsec_…`); two during a secret roll, either is accepted. */
  signingSecrets: string | readonly string[];
  /** Largest accepted signature age (either direction); default 300 s, Stripe's own default. */
  toleranceSec?: number;
}

export interface StripeWebhookDeps {
  /** Stripe's webhook helper; default the SDK's (`Stripe.webhooks`). */
  webhooks?: Pick<Stripe['webhooks'], 'constructEvent'>;
  /** Processed event ids; default in memory (see ReplayStore). */
  replayStore?: ReplayStore;
  clock?: () => Date;
  logger?: Logger;
}

export interface StripeWebhookOutcome {
  eventId: string;
  eventType: string;
  /** Null for event types that are not posted (answer 200 and move on). */
  posting: PaymentPosting | null;
}

/**
 * The stripe-webhook node's adapter: verifies `Stripe-Signature` on the raw
 * body (HMAC-SHA256 over `t.body`, via the SDK), refuses signatures older than
 * the tolerance, refuses event ids already processed, and turns
 * payment_intent.succeeded, payment_intent.payment_failed and charge.refunded
 * into ledger postings.
 *
 * Answers for the endpoint: a {@link WebhookRejectedError} carries the HTTP
 * status (`httpStatus`). Note that Stripe redelivers an event until it gets a
 * 2xx; when our 2xx was lost, the redelivery arrives as a `replayed`
 * rejection, and answering it 200 (it was processed) stops the retries.
 */
export class StripeWebhookReceiver {
  private readonly secrets: readonly string[];
  private readonly toleranceSec: number;
  private readonly webhooks: Pick<Stripe['webhooks'], 'constructEvent'>;
  private readonly replayStore: ReplayStore;
  private readonly clock: () => Date;
  private readonly logger: Logger;

  /**
   * @param options - signing secrets and tolerance
   * @param deps - SDK webhook helper, replay store, clock, logger
   */
  constructor(options: StripeWebhookOptions, deps: StripeWebhookDeps = {}) {
    this.secrets = (typeof options.signingSecrets === 'string' ? [options.signingSecrets] : [...options.signingSecrets]).filter((s) => s.length > 0);
    if (this.secrets.length === 0) throw new ProviderConfigError('Stripe webhook needs its signing secret (whsec_…)');
    this.toleranceSec = options.toleranceSec ?? 300;
    this.webhooks = deps.webhooks ?? Stripe.webhooks;
    this.replayStore = deps.replayStore ?? new InMemoryReplayStore();
    this.clock = deps.clock ?? ((): Date => new Date());
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * Checks signature and age, and parses the event. Changes nothing.
   * @param rawBody - the request body exactly as received (not re-serialized JSON)
   * @param headers - the request headers
   * @param now - the time to judge the signature's age by
   */
  verify(rawBody: Buffer, headers: HeaderMap, now: Date = this.clock()): Stripe.Event {
    if (!Buffer.isBuffer(rawBody)) throw new WebhookPayloadError('stripe', 'body is not the raw bytes');
    const header = headerValue(headers, STRIPE_SIGNATURE_HEADER);
    if (!header) throw new WebhookSignatureError('stripe', 'missing-signature');
    let event: Stripe.Event | null = null;
    let lastError: unknown;
    for (const secret of this.secrets) {
      try {
        // Tolerance 0: the SDK checks only the signature; age is judged below against our injected clock.
        event = this.webhooks.constructEvent(rawBody, header, secret, 0);
        break;
      } catch (err) {
        lastError = err;
      }
    }
    if (!event) {
      if (lastError instanceof SyntaxError) throw new WebhookPayloadError('stripe', 'body is not JSON', { cause: lastError });
      throw new WebhookSignatureError('stripe', 'bad-signature', { cause: lastError });
    }
    const signedAt = signedTimestamp(header);
    const ageSec = Math.floor(now.getTime() / 1000) - signedAt;
    if (Math.abs(ageSec) > this.toleranceSec) throw new WebhookStaleError('stripe', ageSec);
    if (typeof event.id !== 'string' || typeof event.type !== 'string') throw new WebhookPayloadError('stripe', 'event without id or type');
    return event;
  }

  /**
   * Verifies, claims the event id, and hands a posting to `onPosting`; the
   * claim is completed once `onPosting` resolves (make it durable first:
   * enqueue or store) and released if it throws, so Stripe's retry is
   * processed. Rejections change nothing.
   * @param rawBody - the request body exactly as received
   * @param headers - the request headers
   * @param onPosting - called for posted event types only
   * @param now - the time to judge the signature's age by
   */
  async handle(rawBody: Buffer, headers: HeaderMap, onPosting: (posting: PaymentPosting) => Promise<void>, now: Date = this.clock()): Promise<StripeWebhookOutcome> {
    const event = this.verify(rawBody, headers, now);
    const key = `stripe:${event.id}`;
    const claim = await this.replayStore.claim(key, now);
    if (claim !== 'claimed') {
      this.logger.warn('stripe webhook replay refused', { eventId: event.id, eventType: event.type, claim });
      throw new WebhookReplayError('stripe', event.id, claim === 'processed' ? 'replayed' : 'in-progress');
    }
    const posting = postingFromEvent(event);
    try {
      if (posting) await onPosting(posting);
    } catch (err) {
      await this.replayStore.release(key);
      this.logger.warn('stripe webhook posting failed', { eventId: event.id, eventType: event.type, ...summarizeError(err) });
      throw err;
    }
    await this.replayStore.complete(key, now);
    this.logger.info('stripe webhook processed', { eventId: event.id, eventType: event.type, posted: posting !== null });
    return { eventId: event.id, eventType: event.type, posting };
  }
}

/** The `t=` of a Stripe-Signature header; the last one wins, as in the SDK's own parser (so we judge the timestamp it verified). */
function signedTimestamp(header: string): number {
  let t = -1;
  for (const item of header.split(',')) {
    const [k, v] = item.split('=');
    if (k === 't' && v !== undefined) t = parseInt(v, 10);
  }
  return t;
}
