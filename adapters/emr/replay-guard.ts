/**
 * Remembers signatures of accepted webhook requests for the length of the
 * replay window, so a captured request cannot be played again while its
 * timestamp is still fresh. Older requests are already refused as stale.
 */
export interface ReplayGuard {
  /**
   * Reserve `key`. False when it is already reserved (a replay).
   * @param key - the request's signature
   * @param expiresAtMs - when the reservation may be forgotten (end of the replay window)
   */
  claim(key: string, expiresAtMs: number): boolean;
  /** Undo a reservation: the event was not stored, so the sender's retry of the same request must pass. */
  release(key: string): void;
}

/** Per-process guard; a multi-hub deployment replaces it with a shared one. */
export class InMemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();

  /** @param clock - epoch milliseconds */
  constructor(private readonly clock: () => number = Date.now) {}

  claim(key: string, expiresAtMs: number): boolean {
    this.prune();
    if (this.seen.has(key)) return false;
    this.seen.set(key, expiresAtMs);
    return true;
  }

  release(key: string): void {
    this.seen.delete(key);
  }

  get size(): number {
    return this.seen.size;
  }

  private prune(): void {
    const now = this.clock();
    for (const [k, exp] of this.seen) if (exp <= now) this.seen.delete(k);
  }
}
