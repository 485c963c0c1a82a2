/**
 * The wall clock and timers that do not keep the process alive: an intake's
 * timeouts and later recovery passes must not hold up a shutdown.
 */
export const realClock = {
  now: (): number => Date.now(),
  setTimeout: (fn: () => void, ms: number): NodeJS.Timeout => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h: unknown): void => clearTimeout(h as NodeJS.Timeout),
};
