import { DEFAULT_BACKOFF, backoffDelay } from './backoff';

describe('backoffDelay', () => {
  const noJitter = { initialDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 0 };

  it('grows exponentially from the initial delay and stops at the cap', () => {
    expect([0, 1, 2, 3, 4, 5, 50].map((a) => backoffDelay(a, noJitter))).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('takes at most the jitter fraction off the delay', () => {
    const options = { ...noJitter, jitter: 0.5 };
    expect(backoffDelay(3, options, () => 0)).toBe(800);
    expect(backoffDelay(3, options, () => 0.999999)).toBe(400);
    expect(backoffDelay(3, options, () => 0.5)).toBe(600);
  });

  it('has conservative defaults', () => {
    expect(DEFAULT_BACKOFF).toEqual({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, jitter: 0.2 });
    expect(backoffDelay(100, DEFAULT_BACKOFF, () => 0)).toBe(30_000);
  });
});
