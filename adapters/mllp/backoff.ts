export interface BackoffOptions {
  /** Delay before the first retry. */
  initialDelayMs: number;
  /** Upper bound for any delay. */
  maxDelayMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /**
   * Fraction of the delay that is randomised away (0 = none, 1 = full jitter).
   * Spreads the reconnects of many clients after a shared outage, so a
   * restarted receiver is not hit by all of them in the same instant.
   */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2 };

/**
 * Delay before retry number `attempt` (0-based): exponential, capped, jittered.
 * @param attempt - failed attempts so far
 * @param options - see {@link BackoffOptions}
 * @param random - uniform in [0, 1); injected so tests are deterministic
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponential = options.initialDelayMs * Math.pow(options.factor, Math.max(0, attempt));
  const capped = Math.min(options.maxDelayMs, exponential);
  return Math.round(capped * (1 - options.jitter * random()));
}
