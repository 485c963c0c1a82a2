/**
 * Our side of idempotency for providers that have none (Twilio Messages and
 * SendGrid Mail Send accept no idempotency key): one record per hub message
 * id, so a queue redelivering a message that was already accepted does not
 * text or email the patient twice. It also carries the delivery state the
 * providers report back, which is what a time-critical message's delivery
 * check reads.
 *
 * What it cannot promise: when a send fails without an answer (a timeout or
 * a reset connection after the request left), the provider may have accepted
 * it. The reservation is released and the retry sends again, because for
 * patient messaging a rare duplicate is better than a silently lost trigger
 * instruction. A 4xx/5xx answer means the provider did not accept it.
 */
export type Channel = 'sms' | 'email';

/** Ordered: a state never moves back (callbacks arrive out of order). `delivered` and `failed` are final. */
export const OUTBOUND_STATES = ['sending', 'accepted', 'sent', 'delivered', 'failed'] as const;
export type OutboundState = (typeof OUTBOUND_STATES)[number];

export interface SentRecord {
  hubMessageId: string;
  channel: Channel;
  state: OutboundState;
  /** Twilio MessageSid or SendGrid X-Message-Id, once accepted. */
  providerId: string | null;
  /** Provider error code of a failed delivery, e.g. `TWILIO_30003`, `SENDGRID_BOUNCE`. */
  errorCode: string | null;
  updatedAt: Date;
}

export type Reservation =
  /** Go ahead and send. */
  | { status: 'reserved' }
  /** Another attempt holds the id right now (within `sendLeaseMs`). */
  | { status: 'in-progress'; record: SentRecord }
  /** The provider accepted this id before: do not send it again. */
  | { status: 'already-sent'; record: SentRecord };

export interface SentRegistry {
  /**
   * Takes the id for a send attempt, unless it was accepted before.
   * @param hubMessageId - the hub message id
   * @param channel - sms or email
   * @param now - the current time
   */
  reserve(hubMessageId: string, channel: Channel, now: Date): Promise<Reservation>;
  /**
   * The provider accepted the message.
   * @param hubMessageId - the hub message id
   * @param providerId - the provider's id for it
   * @param now - the current time
   */
  markAccepted(hubMessageId: string, providerId: string | null, now: Date): Promise<void>;
  /**
   * The attempt failed before the provider accepted it; the id may be sent again.
   * @param hubMessageId - the hub message id
   */
  release(hubMessageId: string): Promise<void>;
  /**
   * Moves the delivery state forward; returns the updated record, or null when
   * nothing changed (unknown id, a state that is not later, a final record).
   * @param hubMessageId - the hub message id
   * @param state - the provider's report, mapped
   * @param errorCode - set with `failed`
   * @param now - the current time
   */
  advance(hubMessageId: string, state: OutboundState, errorCode: string | null, now: Date): Promise<SentRecord | null>;
  /** @param hubMessageId - the hub message id */
  get(hubMessageId: string): Promise<SentRecord | null>;
  /** @param providerId - Twilio MessageSid or SendGrid message id */
  findByProviderId(providerId: string): Promise<SentRecord | null>;
  close(): Promise<void>;
}

export interface SentRegistryOptions {
  /** How long a `sending` reservation blocks a second attempt (a crashed sender frees it after this). Default 120 s. */
  sendLeaseMs?: number;
  /** How long records are kept after their last change; default 30 days (longer than any queue's dead-letter replay habit). */
  retentionMs?: number;
}

export const DEFAULT_SEND_LEASE_MS = 120_000;
export const DEFAULT_SENT_RETENTION_MS = 30 * 24 * 3600_000;
const PRUNE_INTERVAL_MS = 60_000;

/** Rank of a state: a report is applied only when it ranks higher. */
export function stateRank(state: OutboundState): number {
  return state === 'failed' ? OUTBOUND_STATES.indexOf('delivered') : OUTBOUND_STATES.indexOf(state);
}

/** Whether a record may still change. */
export function isFinal(state: OutboundState): boolean {
  return state === 'delivered' || state === 'failed';
}

/** The reference {@link SentRegistry}: a Map. Forgets on restart; use `SqliteSentRegistry` in the hub. */
export class InMemorySentRegistry implements SentRegistry {
  private readonly records = new Map<string, SentRecord>();
  private readonly sendLeaseMs: number;
  private readonly retentionMs: number;
  private lastPrune = 0;

  /** @param options - lease and retention */
  constructor(options: SentRegistryOptions = {}) {
    this.sendLeaseMs = options.sendLeaseMs ?? DEFAULT_SEND_LEASE_MS;
    this.retentionMs = options.retentionMs ?? DEFAULT_SENT_RETENTION_MS;
  }

  async reserve(hubMessageId: string, channel: Channel, now: Date): Promise<Reservation> {
    this.prune(now);
    const existing = this.records.get(hubMessageId);
    if (existing) {
      if (existing.state !== 'sending') return { status: 'already-sent', record: { ...existing } };
      if (now.getTime() - existing.updatedAt.getTime() < this.sendLeaseMs) return { status: 'in-progress', record: { ...existing } };
    }
    this.records.set(hubMessageId, { hubMessageId, channel, state: 'sending', providerId: null, errorCode: null, updatedAt: now });
    return { status: 'reserved' };
  }

  async markAccepted(hubMessageId: string, providerId: string | null, now: Date): Promise<void> {
    const r = this.records.get(hubMessageId);
    if (!r) return;
    r.providerId = providerId ?? r.providerId;
    // A fast status callback may have moved it past `accepted` already.
    if (stateRank(r.state) < stateRank('accepted')) r.state = 'accepted';
    r.updatedAt = now;
  }

  async release(hubMessageId: string): Promise<void> {
    if (this.records.get(hubMessageId)?.state === 'sending') this.records.delete(hubMessageId);
  }

  async advance(hubMessageId: string, state: OutboundState, errorCode: string | null, now: Date): Promise<SentRecord | null> {
    const r = this.records.get(hubMessageId);
    if (!r || isFinal(r.state) || stateRank(state) <= stateRank(r.state)) return null;
    r.state = state;
    r.errorCode = state === 'failed' ? errorCode : null;
    r.updatedAt = now;
    return { ...r };
  }

  async get(hubMessageId: string): Promise<SentRecord | null> {
    const r = this.records.get(hubMessageId);
    return r ? { ...r } : null;
  }

  async findByProviderId(providerId: string): Promise<SentRecord | null> {
    for (const r of this.records.values()) if (r.providerId === providerId) return { ...r };
    return null;
  }

  async close(): Promise<void> {
    this.records.clear();
  }

  private prune(now: Date): void {
    if (now.getTime() - this.lastPrune < PRUNE_INTERVAL_MS) return;
    this.lastPrune = now.getTime();
    const limit = now.getTime() - this.retentionMs;
    for (const [id, r] of this.records) if (r.updatedAt.getTime() < limit) this.records.delete(id);
  }
}
