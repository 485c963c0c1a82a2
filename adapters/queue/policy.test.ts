import { DEFAULT_POLICY, deadlineWarningMs, resolvePolicy, retryDelayMs } from './policy';
import { QueueConfigError } from './errors';

describe('resolvePolicy', () => {
  test('fills what is left out from the base, field by field (also inside backoff)', () => {
    const p = resolvePolicy({ maxAttempts: 3, backoff: { minMs: 50 } });
    expect(p.maxAttempts).toBe(3);
    expect(p.backoff).toEqual({ ...DEFAULT_POLICY.backoff, minMs: 50 });
    expect(p.ordering).toBe('parallel');
  });

  test.each([
    [{ maxAttempts: 0 }, 'maxAttempts'],
    [{ backoff: { minMs: 10, maxMs: 5 } }, 'backoff.maxMs'],
    [{ backoff: { jitter: 2 } }, 'backoff.jitter'],
    [{ ordering: 'random' as never }, 'ordering'],
    [{ leaseMs: 10 }, 'leaseMs'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ maxAgeMs: 0 }, 'maxAgeMs'],
  ])('refuses %j naming %s', (input, field) => {
    expect(() => resolvePolicy(input, DEFAULT_POLICY, 'lis-out')).toThrow(QueueConfigError);
    expect(() => resolvePolicy(input, DEFAULT_POLICY, 'lis-out')).toThrow(new RegExp(`queue lis-out: policy ${field.replace('.', '\\.')}`));
  });
});

describe('retryDelayMs', () => {
  const backoff = { minMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };

  test('is exponential from minMs and capped at maxMs without jitter', () => {
    const flat = { ...backoff, jitter: 0 };
    expect([1, 2, 3, 4, 10].map((a) => retryDelayMs(flat, a, Math.random))).toEqual([1000, 2000, 4000, 8000, 60_000]);
  });

  test('jitter only lengthens, never past maxMs, and spreads the first retry too', () => {
    expect(retryDelayMs(backoff, 1, () => 0)).toBe(1000);
    expect(retryDelayMs(backoff, 1, () => 0.999)).toBe(1500);
    expect(retryDelayMs(backoff, 3, () => 0.5)).toBe(5000);
    expect(retryDelayMs(backoff, 20, () => 0.999)).toBe(60_000);
    for (let a = 1; a < 12; a++) {
      const d = retryDelayMs(backoff, a, Math.random);
      expect(d).toBeGreaterThanOrEqual(Math.min(60_000, 1000 * 2 ** (a - 1)));
      expect(d).toBeLessThanOrEqual(60_000);
    }
  });
});

test('the deadline warning defaults to a quarter of the maximum age', () => {
  expect(deadlineWarningMs(resolvePolicy({ maxAgeMs: 4000 }))).toBe(1000);
  expect(deadlineWarningMs(resolvePolicy({ maxAgeMs: 4000, deadlineWarningMs: 100 }))).toBe(100);
  expect(deadlineWarningMs(resolvePolicy({ maxAgeMs: null }))).toBe(0);
});
