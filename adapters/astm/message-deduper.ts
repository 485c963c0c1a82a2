import { createHash } from 'node:crypto';
import { systemClock } from './timers';
import type { Clock } from './timers';

/** Default window: a re-sent message arrives within minutes of the first copy. */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;

/**
 * Remembers the SHA-256 of recently delivered E1394 messages.
 *
 * E1381 cannot always tell a sender whether its last frame arrived: when the
 * ACK of a message's last frame is lost, the sender times out, ends the
 * session and must later re-send the whole message (E1381 §6.5.2), which the
 * receiver already delivered. Instruments re-send the remembered message
 * unchanged (same H record timestamp), so a byte-identical message inside
 * the window is that re-send and is not delivered again. Only hashes are
 * kept, never content.
 */
export class MessageDeduper {
  private readonly seen = new Map<string, number>();

  /**
   * @param windowMs - how long a delivered message is remembered; 0 turns duplicate suppression off
   * @param clock - injectable time source
   */
  constructor(
    private readonly windowMs: number = DUPLICATE_WINDOW_MS,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Hash used as the key (hex SHA-256 of the message text). */
  static key(text: string): string {
    return createHash('sha256').update(text, 'utf8').digest('hex');
  }

  /** True when `key` was delivered within the window. */
  has(key: string): boolean {
    if (this.windowMs <= 0) return false;
    const at = this.seen.get(key);
    if (at === undefined) return false;
    if (this.clock() - at > this.windowMs) {
      this.seen.delete(key);
      return false;
    }
    return true;
  }

  /** Record a delivered message. */
  remember(key: string): void {
    if (this.windowMs <= 0) return;
    const now = this.clock();
    this.seen.delete(key); // re-insert at the end, keeping the map in time order
    this.seen.set(key, now);
    // Map keeps insertion order: expire from the front.
    for (const [k, at] of this.seen) {
      if (now - at <= this.windowMs) break;
      this.seen.delete(k);
    }
  }

  get size(): number {
    return this.seen.size;
  }
}
