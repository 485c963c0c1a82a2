import { DUPLICATE_INDEX_MAX } from './types';

/** A claim on a message key: the caller settles it once the sender's answer is decided. */
export interface DuplicateTicket {
  /** The stored record, so later duplicates can point at it (parentId). */
  bind(recordId: string): void;
  /** The sender got AA/CA: retransmissions within the window are duplicates. */
  accept(): void;
  /** The sender got AE/AR, or nothing was stored: a retransmission is processed again. */
  reject(): void;
}

export type DuplicateClaim =
  | { duplicateOf: string }
  /** A new message; `reused` when the key was seen with different content. */
  | { ticket: DuplicateTicket; reused: boolean };

interface Entry {
  digest: string;
  at: number;
  recordId: string | undefined;
  state: 'pending' | 'accepted' | 'rejected';
  decided: Promise<void>;
  decide: () => void;
}

const NOOP_TICKET: DuplicateTicket = { bind: () => undefined, accept: () => undefined, reject: () => undefined };

/**
 * Recently accepted messages by sender + control id, for answering a
 * retransmission without processing it twice.
 *
 * A message is a duplicate only when the earlier one (a) came from the same
 * sender with the same MSH-10 within the window, (b) has the same content
 * apart from MSH-7, and (c) was accepted. (b) keeps a sender that reuses
 * control ids from losing a different message. (c) means a message that got
 * AE/AR is processed again when it is resent. A retransmission that arrives
 * while the original is still waiting for its answer waits for that answer,
 * so the two never run through the flow side by side.
 *
 * The index lives in memory: it starts empty after a restart or redeploy,
 * where delivery falls back to at-least-once.
 */
export class DuplicateIndex {
  private readonly entries = new Map<string, Entry>();

  /**
   * @param windowMs - 0 disables the index
   * @param now - clock
   * @param max - most keys kept; the oldest go first
   */
  constructor(
    private readonly windowMs: number,
    private readonly now: () => number,
    private readonly max: number = DUPLICATE_INDEX_MAX,
  ) {}

  get enabled(): boolean {
    return this.windowMs > 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Either the id of the accepted original, or a ticket for a new message.
   *
   * @param key - sender and control id (an empty control id is never a duplicate)
   * @param digest - content digest that ignores MSH-7
   */
  async claim(key: string, digest: string): Promise<DuplicateClaim> {
    if (!this.enabled) return { ticket: NOOP_TICKET, reused: false };
    for (;;) {
      this.prune();
      const prior = this.entries.get(key);
      if (!prior) return { ticket: this.open(key, digest), reused: false };
      if (prior.digest !== digest) return { ticket: this.open(key, digest), reused: true };
      if (prior.state === 'accepted' && prior.recordId !== undefined) return { duplicateOf: prior.recordId };
      if (prior.state === 'rejected') return { ticket: this.open(key, digest), reused: false };
      await prior.decided;
    }
  }

  /** Settle every pending claim as rejected (shutdown): waiting retransmissions go on as new messages. */
  rejectAll(): void {
    for (const entry of this.entries.values()) {
      if (entry.state === 'pending') {
        entry.state = 'rejected';
        entry.decide();
      }
    }
  }

  private open(key: string, digest: string): DuplicateTicket {
    let decide!: () => void;
    const decided = new Promise<void>((resolve) => (decide = resolve));
    const entry: Entry = { digest, at: this.now(), recordId: undefined, state: 'pending', decided, decide };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.evict(oldest);
    }
    const settle = (state: 'accepted' | 'rejected'): void => {
      if (entry.state !== 'pending') return;
      entry.state = state;
      entry.decide();
      if (state === 'rejected' && this.entries.get(key) === entry) this.entries.delete(key);
    };
    return {
      bind: (recordId) => {
        entry.recordId = recordId;
      },
      accept: () => settle('accepted'),
      reject: () => settle('rejected'),
    };
  }

  /** Entries are kept in arrival order, so expired ones are at the front. */
  private prune(): void {
    const cutoff = this.now() - this.windowMs;
    for (const [key, entry] of this.entries) {
      if (entry.at >= cutoff) break;
      this.evict(key);
    }
  }

  private evict(key: string): void {
    const entry = this.entries.get(key);
    this.entries.delete(key);
    // Anyone waiting on an evicted pending entry re-checks and finds nothing.
    if (entry?.state === 'pending') entry.decide();
  }
}
