import type { KeyObject } from 'node:crypto';
import { WebhookReplayError } from '../phi-guard/errors';
import type { HeaderMap } from '../phi-guard/headers';
import { noopDeliverySink } from '../phi-guard/delivery-status';
import type { DeliveryStatusSink, DeliveryUpdate } from '../phi-guard/delivery-status';
import { InMemoryReplayStore } from '../phi-guard/replay-store';
import type { ReplayStore } from '../phi-guard/replay-store';
import { isFinal, stateRank } from '../phi-guard/sent-registry';
import type { OutboundState, SentRegistry } from '../phi-guard/sent-registry';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { EventWebhookVerifier } from './event-webhook-verifier';
import { CUSTOM_ARG_HUB_ID } from './sendgrid-email';

export interface SendGridEventOptions {
  /** The signed event webhook's verification key (base64 DER or PEM). */
  publicKey: string | KeyObject;
  /** Largest accepted signature age; default 600 s. */
  toleranceSec?: number;
}

export interface SendGridEventDeps {
  /** The registry the sender writes; delivery states are recorded here. */
  sent: SentRegistry;
  /** Where state changes go, typically MessageStoreDeliverySink; default none. */
  sink?: DeliveryStatusSink;
  /** Processed `sg_event_id`s; default in memory. */
  replayStore?: ReplayStore;
  clock?: () => Date;
  logger?: Logger;
}

export interface SendGridEventOutcome {
  /** Events in the batch. */
  received: number;
  /** State changes applied (and passed to the sink). */
  updates: DeliveryUpdate[];
  /** Events seen before (a partial redelivery). */
  duplicates: number;
  /** Events we do not track (open, click, …), of unknown messages, or older than the recorded state. */
  ignored: number;
}

/**
 * The sendgrid-webhook node's adapter: verifies the batch signature, then
 * applies delivered / bounce / dropped (and processed, deferred) events to
 * the sent registry and the sink, once per `sg_event_id`.
 *
 * A batch whose events were all processed before is a replay and refused;
 * a batch mixing old and new events (SendGrid redelivering after a partial
 * failure) is processed for the new ones.
 */
export class SendGridEventHandler {
  private readonly verifier: EventWebhookVerifier;
  private readonly sink: DeliveryStatusSink;
  private readonly replayStore: ReplayStore;
  private readonly clock: () => Date;
  private readonly logger: Logger;

  /**
   * @param options - verification key and tolerance
   * @param deps - sent registry, sink, replay store, clock, logger
   */
  constructor(
    options: SendGridEventOptions,
    private readonly deps: SendGridEventDeps,
  ) {
    this.verifier = new EventWebhookVerifier(options);
    this.sink = deps.sink ?? noopDeliverySink;
    this.replayStore = deps.replayStore ?? new InMemoryReplayStore();
    this.clock = deps.clock ?? ((): Date => new Date());
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * @param rawBody - the request body exactly as received
   * @param headers - the request headers
   * @param now - the current time
   */
  async handle(rawBody: Buffer, headers: HeaderMap, now: Date = this.clock()): Promise<SendGridEventOutcome> {
    const events = this.verifier.verify(rawBody, headers, now);
    const outcome: SendGridEventOutcome = { received: events.length, updates: [], duplicates: 0, ignored: 0 };
    let lastReplayed: string | null = null;
    for (const event of events) {
      const eventId = str(event.sg_event_id);
      if (!eventId) {
        outcome.ignored++;
        continue;
      }
      const key = `sendgrid:${eventId}`;
      const claim = await this.replayStore.claim(key, now);
      if (claim !== 'claimed') {
        outcome.duplicates++;
        lastReplayed = eventId;
        continue;
      }
      try {
        const update = await this.apply(event, now);
        if (update) outcome.updates.push(update);
        else outcome.ignored++;
        await this.replayStore.complete(key, now);
      } catch (err) {
        await this.replayStore.release(key);
        this.logger.warn('sendgrid event failed', { eventId, ...summarizeError(err) });
        throw err;
      }
    }
    if (events.length > 0 && outcome.duplicates === events.length && lastReplayed) {
      this.logger.warn('sendgrid webhook replay refused', { events: events.length });
      throw new WebhookReplayError('sendgrid', lastReplayed, 'replayed');
    }
    this.logger.info('sendgrid events processed', { received: outcome.received, updates: outcome.updates.length, duplicates: outcome.duplicates, ignored: outcome.ignored });
    return outcome;
  }

  private async apply(event: Record<string, unknown>, now: Date): Promise<DeliveryUpdate | null> {
    const type = str(event.event) ?? '';
    const mapped = mapEvent(type, str(event.type));
    if (!mapped) return null;
    const hubId = str(event[CUSTOM_ARG_HUB_ID]);
    const providerId = messageIdOf(str(event.sg_message_id));
    const record = hubId ? await this.deps.sent.get(hubId) : providerId ? await this.deps.sent.findByProviderId(providerId) : null;
    if (!record || isFinal(record.state) || stateRank(mapped.state) <= stateRank(record.state)) return null;
    const at = typeof event.timestamp === 'number' ? new Date(event.timestamp * 1000) : now;
    const update: DeliveryUpdate = { hubMessageId: record.hubMessageId, channel: 'email', state: mapped.state, providerStatus: type, providerId: providerId ?? record.providerId, errorCode: mapped.errorCode, at };
    // The sink first: if it fails, the registry is unchanged and SendGrid's redelivery applies it again.
    await this.sink.record(update);
    await this.deps.sent.advance(record.hubMessageId, mapped.state, mapped.errorCode, now);
    this.logger.info('email delivery status', { hubMessageId: record.hubMessageId, event: type, state: mapped.state, errorCode: mapped.errorCode });
    return update;
  }
}

/**
 * SendGrid event types onto delivery states. `deferred` (the receiving server
 * asked to try later) keeps the message accepted; opens, clicks and
 * unsubscribes are not delivery states.
 */
function mapEvent(event: string, bounceType: string | null): { state: OutboundState; errorCode: string | null } | null {
  switch (event) {
    case 'processed':
    case 'deferred':
      return { state: 'accepted', errorCode: null };
    case 'delivered':
      return { state: 'delivered', errorCode: null };
    case 'bounce':
      return { state: 'failed', errorCode: bounceType === 'blocked' ? 'SENDGRID_BLOCKED' : 'SENDGRID_BOUNCE' };
    case 'dropped':
      return { state: 'failed', errorCode: 'SENDGRID_DROPPED' };
    default:
      return null;
  }
}

/** `sg_message_id` is the X-Message-Id of the send plus `.filter…` routing suffixes. */
function messageIdOf(sgMessageId: string | null): string | null {
  if (!sgMessageId) return null;
  const dot = sgMessageId.indexOf('.');
  return dot > 0 ? sgMessageId.slice(0, dot) : sgMessageId;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v.length > 0 ? v : null;
}
