/** Reconnect delays for AstmClient: exponential, capped, jittered. */
export interface ReconnectOptions {
  /** Delay before the first retry. Default 500 ms. */
  initialDelayMs: number;
  /** Upper bound. Default 30 s. */
  maxDelayMs: number;
  /** Growth per failed attempt. Default 2. */
  factor: number;
  /**
   * Fraction of the delay randomised away (0 none, 1 full). Spreads the
   * reconnects of many analyzer links after a terminal server restarts.
   */
  jitter: number;
}

export const DEFAULT_RECONNECT: ReconnectOptions = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2 };

/**
 * @param attempt - failed attempts so far (0-based)
 * @param o - see {@link ReconnectOptions}
 * @param random - uniform in [0, 1); injected for deterministic tests
 */
export function reconnectDelay(attempt: number, o: ReconnectOptions, random: () => number = Math.random): number {
  const exponential = o.initialDelayMs * Math.pow(o.factor, Math.max(0, attempt));
  return Math.round(Math.min(o.maxDelayMs, exponential) * (1 - o.jitter * random()));
}
