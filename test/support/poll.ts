/**
 * The one way tests wait for something asynchronous: poll a probe until it
 * yields a value, or fail after a deadline naming what was awaited (plus any
 * context worth reading, such as a hub process's output). A deadline, not a
 * timing assertion: it only turns a hang into a readable failure.
 */
export interface PollOptions {
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  /** Time between two probes (default 20 ms). */
  intervalMs?: number;
  /** Appended to the failure, e.g. the tail of a child process's output. */
  context?: () => string;
}

/**
 * @param what - names the awaited condition in the failure
 * @param probe - a value (anything but `undefined` or `false`) ends the wait
 * @returns the probe's value
 */
export async function pollUntil<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, options: PollOptions = {}): Promise<T> {
  const { timeoutMs = 10_000, intervalMs = 20, context } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
