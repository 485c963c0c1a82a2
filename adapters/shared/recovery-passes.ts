import type { MessageRecord, MessageStore } from '../store';

/** setTimeout/clearTimeout as the intakes inject them (their clocks and timers are test seams). */
export interface PassTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: never): void;
}

/**
 * Recovery passes of an intake (messages a previous run accepted and never
 * finished): run one after another, never side by side, so a later pass
 * cannot take a message an earlier one is still sending on; and a pass can
 * ask for another one later, for leftovers too recently touched to take yet.
 */
export class RecoveryPasses<T> {
  private running: Promise<unknown> = Promise.resolve();
  private timer: unknown;
  private stopped = false;

  /**
   * @param pass - one pass; it calls `later` when some leftovers must wait
   * @param onLaterError - a scheduled pass failed (nobody awaits it)
   */
  constructor(
    private readonly pass: () => Promise<T>,
    private readonly timers: PassTimers,
    private readonly onLaterError: (err: unknown) => void,
  ) {}

  /** Runs a pass once the one before (if any) has finished. */
  run(): Promise<T> {
    const pass = this.running.then(() => this.pass());
    this.running = pass.catch(() => undefined);
    return pass;
  }

  /** Another pass in `delayMs` (replacing one already scheduled); nothing once stopped. */
  later(delayMs: number): void {
    if (this.stopped) return;
    this.cancelTimer();
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.run().catch(this.onLaterError);
    }, Math.max(0, delayMs));
  }

  /** No more scheduled passes (the intake is closing). */
  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer as never);
    this.timer = undefined;
  }
}

export interface LeftoverScan {
  /** Inbound records of this endpoint still `processing`. */
  endpoint: string;
  /** Untouched for this long, a record is a leftover (a live process sharing the store settles its own sooner). */
  timeoutMs: number;
  now: number;
  /** Taken at once, however fresh: what this process's previous instance left in the flow. */
  released: ReadonlySet<string>;
  /** Not this intake's to take (another node's, one in flight here). */
  skip(record: MessageRecord): boolean;
}

/**
 * Finds an intake's leftovers: records still `processing`, oldest first
 * (the order they arrived, as far as the store can tell: receipt times are
 * kept to the millisecond), and when the freshest of the rest is old enough
 * for another pass.
 */
export async function scanLeftovers(store: MessageStore, scan: LeftoverScan): Promise<{ ids: string[]; recheckAt: number | null }> {
  const cutoff = scan.now - scan.timeoutMs;
  const ids: string[] = [];
  let recheckAt = Infinity;
  let cursor: string | undefined;
  do {
    const page = await store.search({ direction: 'inbound', endpoint: scan.endpoint, status: 'processing', limit: 200, cursor });
    for (const r of page.items) {
      if (scan.skip(r)) continue;
      if (r.updatedAt.getTime() <= cutoff || scan.released.has(r.id)) ids.push(r.id);
      else recheckAt = Math.min(recheckAt, r.updatedAt.getTime() + scan.timeoutMs + 1);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  // Search pages run newest first.
  return { ids: ids.reverse(), recheckAt: recheckAt === Infinity ? null : recheckAt };
}

/** The error text of a leftover whose stored copy cannot be read back (marked INTERRUPTED). */
export const UNREADABLE_TEXT = 'the hub stopped before the flow finished this message, and its stored copy could not be read again';

/**
 * Ids a closing intake left in the flow (a redeploy stopped it with them
 * inside), by the intake's key: its successor in this process takes them at
 * once instead of waiting for them to look abandoned.
 */
const releasedMidFlow = new Map<string, Set<string>>();

/** A closing intake hands `ids` to its successor under `key`. */
export function releaseMidFlow(key: string, ids: Iterable<string>): void {
  const released = releasedMidFlow.get(key) ?? new Set<string>();
  for (const id of ids) released.add(id);
  if (released.size > 0) releasedMidFlow.set(key, released);
}

/** What a predecessor under `key` released, taken once. */
export function takeReleased(key: string): Set<string> {
  const released = releasedMidFlow.get(key) ?? new Set<string>();
  releasedMidFlow.delete(key);
  return released;
}

