/**
 * Timer and clock seams. The E1381 timers (15 s, 30 s, 10 s, 20 s) run
 * through these so unit tests can drive them with fake timers or a manual
 * scheduler instead of waiting.
 */
export type TimerHandle = unknown;

export interface Timers {
  setTimeout(callback: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Milliseconds since the epoch. */
export type Clock = () => number;

/** Node's global timers, looked up at call time so jest fake timers take effect. */
export const systemTimers: Timers = {
  setTimeout: (callback, ms) => {
    const t = setTimeout(callback, ms);
    // A pending protocol timer must not keep the process alive on its own.
    t.unref?.();
    return t;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export const systemClock: Clock = () => Date.now();
