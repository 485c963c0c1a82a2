import { resolvePolicy } from './policy';
import { brokerNames, MAX_RETRY_LEVELS, pickRetryLevel, retryLevels, shardOf } from './rabbitmq-topology';

test('retry levels are the backoff steps and the cap', () => {
  expect(retryLevels({ minMs: 1000, maxMs: 300_000, factor: 2, jitter: 0.2 })).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000]);
  expect(retryLevels({ minMs: 500, maxMs: 500, factor: 2, jitter: 0 })).toEqual([500]);
  expect(retryLevels({ minMs: 1, maxMs: 86_400_000, factor: 1.01, jitter: 0 }).length).toBeLessThanOrEqual(MAX_RETRY_LEVELS);
});

test('a delay on a step stays on it; others round to a neighbour keeping the mean', () => {
  const levels = [1000, 2000, 4000];
  expect(pickRetryLevel(levels, 2000, Math.random)).toBe(2000);
  expect(pickRetryLevel(levels, 10, Math.random)).toBe(1000);
  expect(pickRetryLevel(levels, 9000, Math.random)).toBe(4000);
  let sum = 0;
  let r = 0;
  const random = (): number => ((r = (r * 9301 + 49297) % 233280) / 233280);
  for (let i = 0; i < 10_000; i++) sum += pickRetryLevel(levels, 2500, random);
  expect(sum / 10_000).toBeGreaterThan(2400);
  expect(sum / 10_000).toBeLessThan(2600);
});

test('keys hash onto shards stably and spread', () => {
  expect(shardOf('patient-1', 8)).toBe(shardOf('patient-1', 8));
  const counts = new Array<number>(8).fill(0);
  for (let i = 0; i < 8000; i++) counts[shardOf(`pk-${i}`, 8)]!++;
  expect(Math.min(...counts)).toBeGreaterThan(800);
});

test('broker names: one work queue, or shards for key ordering (which retry in place)', () => {
  const parallel = brokerNames('hub.', 'lis', resolvePolicy({ backoff: { minMs: 1000, maxMs: 4000, factor: 2, jitter: 0 } }));
  expect(parallel).toEqual({ work: ['hub.lis'], retry: new Map([[1000, 'hub.lis.retry.1000'], [2000, 'hub.lis.retry.2000'], [4000, 'hub.lis.retry.4000']]), dead: 'hub.lis.dead' });
  const ordered = brokerNames('hub.', 'emr', resolvePolicy({ ordering: 'key', shards: 3 }));
  expect(ordered).toEqual({ work: ['hub.emr.s0', 'hub.emr.s1', 'hub.emr.s2'], retry: new Map(), dead: 'hub.emr.dead' });
});
