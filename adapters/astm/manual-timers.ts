import type { Clock, TimerHandle, Timers } from './timers';

/**
 * A hand-driven clock and timer queue for tests of the E1381 timers (and a
 * reference implementation of {@link Timers}). Nothing runs until
 * {@link ManualTimers.advance} moves time forward; pending promise
 * continuations are flushed between timers, so protocol code awaiting
 * replies sees the same ordering it would in real time.
 */
export class ManualTimers implements Timers {
  private time = 0;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  /** Current time in ms (starts at 0). */
  get now(): number {
    return this.time;
  }

  /** A {@link Clock} reading this timer queue's time. */
  readonly clock: Clock = () => this.time;

  /** Number of timers waiting to fire. */
  get size(): number {
    return this.pending.size;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.pending.set(id, { at: this.time + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle as number);
  }

  /** Let promise continuations and I/O callbacks that are already due run. */
  async flush(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  /**
   * Move time forward, firing due timers in time order.
   *
   * @param ms - how far
   */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await this.flush();
      let nextId: number | undefined;
      let next: { at: number; callback: () => void } | undefined;
      for (const [id, t] of this.pending) {
        if (t.at <= target && (!next || t.at < next.at)) {
          next = t;
          nextId = id;
        }
      }
      if (!next || nextId === undefined) break;
      this.pending.delete(nextId);
      this.time = next.at;
      next.callback();
    }
    this.time = target;
    await this.flush();
  }
}
