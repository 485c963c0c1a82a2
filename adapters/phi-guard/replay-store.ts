/**
 * Webhook replay protection: each provider event id is processed once.
 *
 * A claim is taken after the signature checks out and before the event
 * changes anything; it is completed when the change is durable, or released
 * when processing failed so that the provider's redelivery is processed. A
 * claim that is neither (the process died) lapses after `claimTimeoutMs`.
 *
 * Implementations: {@link InMemoryReplayStore} (the default; forgets on
 * restart, so after a restart a replay is caught only by the signature
 * timestamp) and `SqliteReplayStore` (survives restarts; give it the hub's
 * data dir, or the same file as other provider state). A store shared by
 * several hub processes would sit on the message store's database; that
 * backend is not written yet, and the interface is all it needs.
 */
export type ReplayClaim = 'claimed' | 'in-progress' | 'processed';

export interface ReplayStore {
  /**
   * Reserves an event key. `claimed`: go ahead; `in-progress`: someone else
   * holds it now; `processed`: done before, within the retention window.
   * @param key - provider-prefixed event id, e.g. `stripe:evt_123`
   * @param now - the current time
   */
  claim(key: string, now: Date): Promise<ReplayClaim>;
  /**
   * Marks a claimed key processed; it is remembered for `retentionMs`.
   * @param key - as claimed
   * @param now - the current time
   */
  complete(key: string, now: Date): Promise<void>;
  /**
   * Drops an unfinished claim so the event can be processed again.
   * @param key - as claimed
   */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

export interface ReplayStoreOptions {
  /**
   * How long a processed key is remembered. Must outlast the provider's
   * redelivery window (Stripe retries for up to 3 days, SendGrid 72 hours);
   * default 7 days.
   */
  retentionMs?: number;
  /** How long an unfinished claim blocks others before it counts as abandoned; default 60 s. */
  claimTimeoutMs?: number;
  /** In-memory store only: most keys kept; the oldest are dropped first. Default 200 000. */
  maxEntries?: number;
}

export const DEFAULT_REPLAY_RETENTION_MS = 7 * 24 * 3600_000;
export const DEFAULT_CLAIM_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_ENTRIES = 200_000;
const SWEEP_INTERVAL_MS = 60_000;

interface Entry {
  state: 'in-progress' | 'processed';
  expiresAt: number;
}

/** The reference {@link ReplayStore}: a Map, swept of expired keys once a minute. */
export class InMemoryReplayStore implements ReplayStore {
  private readonly entries = new Map<string, Entry>();
  private readonly retentionMs: number;
  private readonly claimTimeoutMs: number;
  private readonly maxEntries: number;
  private lastSweep = 0;

  /** @param options - retention, claim timeout and size bound */
  constructor(options: ReplayStoreOptions = {}) {
    this.retentionMs = options.retentionMs ?? DEFAULT_REPLAY_RETENTION_MS;
    this.claimTimeoutMs = options.claimTimeoutMs ?? DEFAULT_CLAIM_TIMEOUT_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
  }

  async claim(key: string, now: Date): Promise<ReplayClaim> {
    const t = now.getTime();
    this.sweep(t);
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt > t) return entry.state;
    this.entries.delete(key);
    this.entries.set(key, { state: 'in-progress', expiresAt: t + this.claimTimeoutMs });
    return 'claimed';
  }

  async complete(key: string, now: Date): Promise<void> {
    this.entries.delete(key);
    this.entries.set(key, { state: 'processed', expiresAt: now.getTime() + this.retentionMs });
  }

  async release(key: string): Promise<void> {
    if (this.entries.get(key)?.state === 'in-progress') this.entries.delete(key);
  }

  async close(): Promise<void> {
    this.entries.clear();
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS && this.entries.size < this.maxEntries) return;
    this.lastSweep = now;
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    // Still full: forget the oldest. A forgotten key can only be replayed within its signature's tolerance.
    for (const key of this.entries.keys()) {
      if (this.entries.size < this.maxEntries) break;
      this.entries.delete(key);
    }
  }
}
