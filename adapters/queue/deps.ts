import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';

/** Timer functions, injected so tests can drive retries and leases without waiting. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Injectable I/O shared by every queue adapter. */
export interface QueueDeps {
  /** Epoch milliseconds. Default `Date.now`. */
  now?: () => number;
  timers?: Timers;
  /** Uniform in [0, 1), for backoff jitter. Default `Math.random`. */
  random?: () => number;
  /** Default: silent. Receives ids, queue names, counts and error codes only. */
  logger?: Logger;
}

export interface ResolvedQueueDeps {
  now: () => number;
  timers: Timers;
  random: () => number;
  logger: Logger;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export function resolveDeps(deps: QueueDeps = {}): ResolvedQueueDeps {
  return {
    now: deps.now ?? Date.now,
    timers: deps.timers ?? realTimers,
    random: deps.random ?? Math.random,
    logger: deps.logger ?? silentLogger,
  };
}

/** A promise that resolves after `ms` on the injected timers. */
export function sleep(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, Math.max(0, ms)));
}

/**
 * Waits for `promise` at most `ms`; resolves true if it settled in time. The
 * timer is cleared either way, so nothing keeps the process alive after a close.
 */
export async function settlesWithin(timers: Timers, promise: Promise<unknown>, ms: number): Promise<boolean> {
  let handle: unknown;
  const timeout = new Promise<boolean>((resolve) => (handle = timers.setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), timeout]);
  } finally {
    timers.clearTimeout(handle);
  }
}
