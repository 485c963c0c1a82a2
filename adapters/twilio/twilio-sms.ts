import type twilio from 'twilio';
import { ProviderConfigError, ProviderRequestInvalidError, SendInProgressError } from '../phi-guard/errors';
import { PhiPolicy } from '../phi-guard/phi-policy';
import { InMemorySentRegistry } from '../phi-guard/sent-registry';
import type { OutboundState, SentRegistry } from '../phi-guard/sent-registry';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { RecipientOptedOutError, TWILIO_UNSUBSCRIBED, fromTwilioError } from './errors';
import { InMemoryOptOutRegistry } from './opt-out-registry';
import type { OptOutRegistry } from './opt-out-registry';
import { toE164 } from './phone';
import { DEFAULT_QUIET_HOURS, assertTimeZone, quietHoursDecision } from './quiet-hours';
import type { QuietHoursWindow } from './quiet-hours';
import { createTwilioClient } from './twilio-client';
import type { TwilioClientOptions } from './twilio-client';

/** Query parameters we add to the status callback URL (signed by Twilio along with the rest of it; no underscores, which Twilio rejects in callback URLs). */
export const CALLBACK_HUB_ID_PARAM = 'hubMessageId';
export const CALLBACK_ISSUED_PARAM = 'issued';

/** Twilio's limit for one message body (it splits into segments below this). */
export const MAX_SMS_BODY = 1600;

export interface SmsRequest {
  /** Hub message id: the idempotency key (sent registry) and how the status callback finds the message. */
  hubMessageId: string;
  /** Recipient, E.164. */
  to: string;
  /** Content-free text ("You have a new message from your care team…"); checked by the PHI policy. */
  body: string;
  /** Trigger-shot instructions and the like: sent during quiet hours; follow up with `assertDelivered`. */
  timeCritical?: boolean;
  /** The clinic's IANA zone when it differs from the sender's default. */
  timeZone?: string;
}

export type SmsSendResult =
  | { outcome: 'sent'; hubMessageId: string; messageSid: string; status: string }
  /** This hub message id was accepted by Twilio before: nothing was sent now. */
  | { outcome: 'duplicate'; hubMessageId: string; messageSid: string | null; state: OutboundState }
  /** Quiet hours: send again at `until` (nothing was sent or reserved). */
  | { outcome: 'deferred'; hubMessageId: string; until: Date };

/** The twilio-sms node's view of SMS. */
export interface SmsSender {
  /**
   * Sends one SMS, unless the id was sent before, the recipient opted out
   * (throws RecipientOptedOutError) or it is quiet hours (deferred).
   * @param request - hub message id, recipient, body, time-critical flag
   */
  send(request: SmsRequest): Promise<SmsSendResult>;
  close(): Promise<void>;
}

export interface TwilioSmsOptions extends Partial<TwilioClientOptions> {
  /** The messaging service (`MG…`) to send from: it owns the sender pool, opt-out handling and compliance. */
  messagingServiceSid: string;
  /** Public URL of the twilio-callback status endpoint (https); per-message parameters are appended. */
  statusCallbackUrl: string;
  /** The clinic's IANA time zone for quiet hours. */
  timeZone: string;
  /** Default 21:00–08:00; null disables quiet hours. */
  quietHours?: QuietHoursWindow | null;
}

export interface TwilioSmsDeps {
  /** The Twilio SDK client; default one built from the options' credentials. */
  client?: twilio.Twilio;
  optOuts?: OptOutRegistry;
  sent?: SentRegistry;
  phiPolicy?: PhiPolicy;
  clock?: () => Date;
  logger?: Logger;
}

/** Request fields that are addressing and plumbing, not text we write (see PhiCheckOptions). */
const STRUCTURAL_PATHS = ['to', 'messagingServiceSid', 'statusCallback'];
const ID_PATTERN = /^[A-Za-z0-9][\w.:-]{0,127}$/;

/**
 * SMS through a Twilio messaging service, with a status callback per message.
 *
 * Order of checks: input, PHI policy, sent registry (a redelivered id that
 * Twilio accepted before is reported as `duplicate`, not sent again), opt-out
 * registry, quiet hours (skipped for time-critical messages), then the call.
 * Twilio's Messages API takes no idempotency key; the sent registry is our
 * side of it (see SentRegistry for the one case it cannot cover).
 */
export class TwilioSmsSender implements SmsSender {
  private readonly client: twilio.Twilio;
  private readonly optOuts: OptOutRegistry;
  private readonly sent: SentRegistry;
  private readonly policy: PhiPolicy;
  private readonly clock: () => Date;
  private readonly logger: Logger;
  private readonly callbackBase: URL;

  /**
   * @param options - messaging service, callback URL, time zone, quiet hours; credentials when no client is injected
   * @param deps - SDK client, registries, PHI policy, clock, logger
   */
  constructor(
    private readonly options: TwilioSmsOptions,
    deps: TwilioSmsDeps = {},
  ) {
    if (!/^MG[0-9a-fA-F]{32}$/.test(options.messagingServiceSid)) throw new ProviderConfigError('messaging service SID must be MG followed by 32 hex digits');
    try {
      this.callbackBase = new URL(options.statusCallbackUrl);
    } catch (err) {
      throw new ProviderConfigError('status callback URL is not a URL', { cause: err });
    }
    assertTimeZone(options.timeZone);
    this.client = deps.client ?? createTwilioClient({ accountSid: options.accountSid ?? '', ...options });
    this.optOuts = deps.optOuts ?? new InMemoryOptOutRegistry();
    this.sent = deps.sent ?? new InMemorySentRegistry();
    this.policy = deps.phiPolicy ?? new PhiPolicy();
    this.clock = deps.clock ?? ((): Date => new Date());
    this.logger = deps.logger ?? silentLogger;
  }

  async send(request: SmsRequest): Promise<SmsSendResult> {
    const id = request.hubMessageId;
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw new ProviderRequestInvalidError('twilio', 'hubMessageId', 'must be an id of letters, digits, . _ : - (at most 128)');
    const to = typeof request.to === 'string' ? toE164(request.to) : null;
    if (!to) throw new ProviderRequestInvalidError('twilio', 'to', 'must be an E.164 phone number');
    if (typeof request.body !== 'string' || request.body.trim().length === 0 || request.body.length > MAX_SMS_BODY) {
      throw new ProviderRequestInvalidError('twilio', 'body', `must be 1 to ${MAX_SMS_BODY} characters`);
    }
    const now = this.clock();
    const params = {
      to,
      body: request.body,
      messagingServiceSid: this.options.messagingServiceSid,
      statusCallback: this.callbackUrl(id, now),
    };
    this.policy.assertAllowed('twilio', params, { structuralPaths: STRUCTURAL_PATHS });

    const earlier = await this.sent.get(id);
    if (earlier && earlier.state !== 'sending') return this.duplicate(id, earlier.providerId, earlier.state);
    if (await this.optOuts.isOptedOut(to)) {
      this.logger.info('sms not sent: recipient opted out', { hubMessageId: id });
      throw new RecipientOptedOutError(id);
    }
    if (!request.timeCritical && this.options.quietHours !== null) {
      const decision = quietHoursDecision(now, request.timeZone ?? this.options.timeZone, this.options.quietHours ?? DEFAULT_QUIET_HOURS);
      if (decision.action === 'defer') {
        this.logger.info('sms deferred: quiet hours', { hubMessageId: id, until: decision.until.toISOString() });
        return { outcome: 'deferred', hubMessageId: id, until: decision.until };
      }
    }

    const reservation = await this.sent.reserve(id, 'sms', now);
    if (reservation.status === 'already-sent') return this.duplicate(id, reservation.record.providerId, reservation.record.state);
    if (reservation.status === 'in-progress') throw new SendInProgressError('twilio', id);
    let message: Awaited<ReturnType<twilio.Twilio['messages']['create']>>;
    try {
      message = await this.client.messages.create(params);
    } catch (err) {
      await this.sent.release(id);
      const mapped = fromTwilioError(err, id);
      if ((err as { code?: unknown }).code === TWILIO_UNSUBSCRIBED) {
        // Twilio knows of a STOP we missed: record it so the next send does not even try.
        await this.optOuts.optOut(to, now, 'provider');
        this.logger.info('sms refused by Twilio: recipient unsubscribed', { hubMessageId: id, code: mapped.code });
        throw new RecipientOptedOutError(id);
      }
      this.logger.warn('sms send failed', { hubMessageId: id, retryable: mapped.retryable, ...summarizeError(mapped) });
      throw mapped;
    }
    await this.sent.markAccepted(id, message.sid, this.clock());
    this.logger.info('sms accepted by Twilio', { hubMessageId: id, messageSid: message.sid, status: message.status, timeCritical: request.timeCritical === true });
    return { outcome: 'sent', hubMessageId: id, messageSid: message.sid, status: message.status };
  }

  async close(): Promise<void> {
    // The SDK keeps no connection open beyond idle keep-alive sockets; registries are owned by whoever built them.
  }

  private duplicate(id: string, messageSid: string | null, state: OutboundState): SmsSendResult {
    this.logger.info('sms not sent again: hub message id already accepted', { hubMessageId: id, messageSid, state });
    return { outcome: 'duplicate', hubMessageId: id, messageSid, state };
  }

  /** The status callback URL of one message: the hub id to find it, and when it was issued to bound replays. */
  private callbackUrl(hubMessageId: string, now: Date): string {
    const url = new URL(this.callbackBase.href);
    url.searchParams.set(CALLBACK_HUB_ID_PARAM, hubMessageId);
    url.searchParams.set(CALLBACK_ISSUED_PARAM, String(Math.floor(now.getTime() / 1000)));
    return url.href;
  }
}
