import { WebhookPayloadError, WebhookReplayError, WebhookStaleError } from '../phi-guard/errors';
import type { HeaderMap } from '../phi-guard/headers';
import { noopDeliverySink } from '../phi-guard/delivery-status';
import type { DeliveryStatusSink } from '../phi-guard/delivery-status';
import { InMemoryReplayStore } from '../phi-guard/replay-store';
import type { ReplayStore } from '../phi-guard/replay-store';
import { isFinal, stateRank } from '../phi-guard/sent-registry';
import type { OutboundState, SentRegistry } from '../phi-guard/sent-registry';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { classifyKeyword } from './keywords';
import type { KeywordAction } from './keywords';
import type { OptOutRegistry } from './opt-out-registry';
import { toE164 } from './phone';
import { deliveryStateOf } from './status-map';
import { TwilioSignatureVerifier, param } from './twilio-signature';
import type { TwilioParams } from './twilio-signature';
import { CALLBACK_HUB_ID_PARAM, CALLBACK_ISSUED_PARAM } from './twilio-sms';

/** The answer to an inbound message: no reply of our own (the messaging service answers STOP/START/HELP itself). */
export const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';

export interface TwilioCallbackOptions {
  /** The account's auth token: the signature key. */
  authToken: string;
  /** When set, callbacks for another account are refused. */
  accountSid?: string;
  /**
   * Oldest status callback accepted, by the `issued` time in its URL; default
   * 7 days (longer than any message validity period, so late carrier receipts
   * still count).
   */
  maxCallbackAgeMs?: number;
}

export interface TwilioCallbackDeps {
  /** The registry the sender writes; delivery states are recorded here. */
  sent: SentRegistry;
  /** The registry the sender checks; inbound STOP/START change it. */
  optOuts: OptOutRegistry;
  /** Where state changes go, typically MessageStoreDeliverySink; default none. */
  sink?: DeliveryStatusSink;
  /** Processed callbacks; default in memory. */
  replayStore?: ReplayStore;
  clock?: () => Date;
  logger?: Logger;
}

export interface StatusCallbackOutcome {
  hubMessageId: string | null;
  messageSid: string;
  /** Twilio's MessageStatus as posted. */
  providerStatus: string;
  /** What it maps to; null for statuses we do not track. */
  state: OutboundState | null;
  /** Whether the sent registry (and the sink) were updated; false for older or repeated reports. */
  changed: boolean;
}

export interface InboundMessageOutcome {
  messageSid: string;
  /** The keyword's effect, or null for an ordinary reply. */
  action: KeywordAction | null;
  /** The sender's number (PHI: never log it). */
  from: string | null;
  /** The text (PHI: never log it). */
  body: string;
  /** What to answer Twilio with (content type text/xml). */
  twiml: string;
}

/** An inbound message as the flow gets it (and as it is read back from its stored form). */
export type InboundMessage = Omit<InboundMessageOutcome, 'twiml'>;

const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * The twilio-callback node's adapter: status callbacks (delivery receipts)
 * and inbound messages (STOP/START/HELP), both signature-checked.
 *
 * Replays: a status callback is identified by MessageSid and status, an
 * inbound message by its MessageSid; a second one is refused
 * ({@link WebhookReplayError}). A status callback whose URL was issued longer
 * ago than `maxCallbackAgeMs` is refused as stale. Out-of-order receipts
 * (`sent` after `delivered`) are accepted and change nothing.
 */
export class TwilioCallbackHandler {
  private readonly verifier: TwilioSignatureVerifier;
  private readonly sink: DeliveryStatusSink;
  private readonly replayStore: ReplayStore;
  private readonly clock: () => Date;
  private readonly logger: Logger;
  private readonly maxAgeMs: number;

  /**
   * @param options - auth token, account, maximum callback age
   * @param deps - registries, sink, replay store, clock, logger
   */
  constructor(
    private readonly options: TwilioCallbackOptions,
    private readonly deps: TwilioCallbackDeps,
  ) {
    this.verifier = new TwilioSignatureVerifier(options.authToken);
    this.sink = deps.sink ?? noopDeliverySink;
    this.replayStore = deps.replayStore ?? new InMemoryReplayStore();
    this.clock = deps.clock ?? ((): Date => new Date());
    this.logger = deps.logger ?? silentLogger;
    this.maxAgeMs = options.maxCallbackAgeMs ?? 7 * 24 * 3600_000;
  }

  /**
   * A message status callback: updates the sent registry and, on a change, the sink.
   * @param rawBody - the request body exactly as received
   * @param headers - the request headers
   * @param url - the full public URL Twilio requested, with query
   * @param now - the current time
   */
  async handleStatusCallback(rawBody: Buffer, headers: HeaderMap, url: string, now: Date = this.clock()): Promise<StatusCallbackOutcome> {
    const params = this.verifier.verify(rawBody, headers, url);
    this.checkAccount(params);
    const query = new URL(url).searchParams;
    const issued = Number(query.get(CALLBACK_ISSUED_PARAM));
    if (query.has(CALLBACK_ISSUED_PARAM)) {
      const ageMs = now.getTime() - issued * 1000;
      if (!Number.isFinite(ageMs) || ageMs > this.maxAgeMs || ageMs < -CLOCK_SKEW_MS) throw new WebhookStaleError('twilio', Math.round(ageMs / 1000));
    }
    const messageSid = param(params, 'MessageSid') ?? param(params, 'SmsSid');
    const status = param(params, 'MessageStatus') ?? param(params, 'SmsStatus');
    if (!messageSid || !status) throw new WebhookPayloadError('twilio', 'status callback without MessageSid or MessageStatus');

    const key = `twilio:status:${messageSid}:${status}`;
    await this.claim(key, now);
    try {
      const outcome = await this.applyStatus(query.get(CALLBACK_HUB_ID_PARAM), messageSid, status, param(params, 'ErrorCode'), now);
      await this.replayStore.complete(key, now);
      return outcome;
    } catch (err) {
      await this.replayStore.release(key);
      this.logger.warn('twilio status callback failed', { messageSid, status, ...summarizeError(err) });
      throw err;
    }
  }

  /**
   * An inbound SMS: STOP-type keywords opt the sender out, START-type opt in.
   * @param rawBody - the request body exactly as received
   * @param headers - the request headers
   * @param url - the full public URL Twilio requested, with query
   * @param now - the current time
   */
  async handleInboundMessage(rawBody: Buffer, headers: HeaderMap, url: string, now: Date = this.clock()): Promise<InboundMessageOutcome> {
    const params = this.verifier.verify(rawBody, headers, url);
    this.checkAccount(params);
    const { messageSid, body, from, action } = inboundMessageOf(params);

    const key = `twilio:inbound:${messageSid}`;
    await this.claim(key, now);
    try {
      if (from && action === 'opt-out') await this.deps.optOuts.optOut(from, now, 'keyword');
      if (from && action === 'opt-in') await this.deps.optOuts.optIn(from, now, 'keyword');
      await this.replayStore.complete(key, now);
    } catch (err) {
      await this.replayStore.release(key);
      this.logger.warn('twilio inbound message failed', { messageSid, ...summarizeError(err) });
      throw err;
    }
    this.logger.info('twilio inbound message', { messageSid, action: action ?? 'none', bytes: Buffer.byteLength(body) });
    return { messageSid, action, from, body, twiml: EMPTY_TWIML };
  }

  private async applyStatus(hubIdFromUrl: string | null, messageSid: string, status: string, errorCode: string | null, now: Date): Promise<StatusCallbackOutcome> {
    const state = deliveryStateOf(status);
    const record = hubIdFromUrl ? await this.deps.sent.get(hubIdFromUrl) : await this.deps.sent.findByProviderId(messageSid);
    const hubMessageId = record?.hubMessageId ?? hubIdFromUrl;
    const base = { hubMessageId, messageSid, providerStatus: status, state };
    if (!record || !state) {
      this.logger.info('twilio status callback ignored', { messageSid, status, known: record !== null });
      return { ...base, changed: false };
    }
    if (isFinal(record.state) || stateRank(state) <= stateRank(record.state)) {
      this.logger.debug('twilio status callback older than recorded state', { hubMessageId: record.hubMessageId, messageSid, status, recorded: record.state });
      return { ...base, changed: false };
    }
    const failureCode = state === 'failed' ? `TWILIO_${errorCode && /^\d{1,6}$/.test(errorCode) ? errorCode : 'UNKNOWN'}` : null;
    // The sink first: if it fails, the registry is unchanged and Twilio's (or an operator's) retry applies it again.
    await this.sink.record({ hubMessageId: record.hubMessageId, channel: 'sms', state, providerStatus: status, providerId: messageSid, errorCode: failureCode, at: now });
    const updated = await this.deps.sent.advance(record.hubMessageId, state, failureCode, now);
    this.logger.info('sms delivery status', { hubMessageId: record.hubMessageId, messageSid, status, state, errorCode: failureCode });
    return { ...base, hubMessageId: record.hubMessageId, changed: updated !== null };
  }

  private async claim(key: string, now: Date): Promise<void> {
    const claim = await this.replayStore.claim(key, now);
    if (claim === 'claimed') return;
    this.logger.warn('twilio webhook replay refused', { claim });
    throw new WebhookReplayError('twilio', key.slice(key.indexOf(':') + 1), claim === 'processed' ? 'replayed' : 'in-progress');
  }

  private checkAccount(params: TwilioParams): void {
    const account = param(params, 'AccountSid');
    if (this.options.accountSid && account !== this.options.accountSid) throw new WebhookPayloadError('twilio', 'callback for another account');
  }
}

/**
 * An inbound message's fields from its form parameters: verified on
 * arrival, or read back from the stored body (a reprocess, a recovery).
 */
export function inboundMessageOf(params: TwilioParams): InboundMessage {
  const messageSid = param(params, 'MessageSid') ?? param(params, 'SmsSid');
  if (!messageSid) throw new WebhookPayloadError('twilio', 'inbound message without MessageSid');
  const body = param(params, 'Body') ?? '';
  const rawFrom = param(params, 'From');
  const from = rawFrom === null ? null : toE164(rawFrom);
  return { messageSid, action: classifyKeyword(body, param(params, 'OptOutType')), from, body };
}
