import type { BackoffPolicy, QueuePolicy } from './policy';

/**
 * Broker objects behind one hub queue `q` (with the adapter's prefix `p`):
 *
 * - `p.q` — the work queue (`ordering: 'parallel'`): durable, classic v2.
 * - `p.q.s0 … p.q.s<N-1>` — instead of it for `ordering: 'key'`: keys are
 *   hashed onto N shard queues, each declared single-active-consumer and
 *   consumed with prefetch 1. Hashing gives parallelism across keys; single
 *   active consumer keeps one consumer per shard even when several hub
 *   processes subscribe (the others stand by and take over when it goes),
 *   which is what makes the order strict across processes.
 * - `p.q.retry.<ms>` — one queue per backoff step, with that queue-wide TTL
 *   and a dead-letter route back to the work queue. A per-message TTL on one
 *   shared delay queue would not work: RabbitMQ only expires messages at the
 *   head, so a long delay would hold back every shorter one behind it.
 *   Quorum type with at-least-once dead-lettering, so the hop back survives a
 *   broker crash (classic dead-lettering is at-most-once).
 * - `p.q.dead` — the dead letters, durable.
 */

export interface BrokerNames {
  /** The queue(s) consumers read and producers publish to: one, or one per shard. */
  work: string[];
  retry: Map<number, string>;
  dead: string;
}

/** At most this many retry steps per queue; finer policies are coarsened. */
export const MAX_RETRY_LEVELS = 24;

export function brokerNames(prefix: string, queue: string, policy: QueuePolicy): BrokerNames {
  const base = `${prefix}${queue}`;
  const work = policy.ordering === 'key' ? Array.from({ length: policy.shards }, (_, i) => `${base}.s${i}`) : [base];
  const retry = new Map(policy.ordering === 'key' ? [] : retryLevels(policy.backoff).map((ms) => [ms, `${base}.retry.${ms}`] as const));
  return { work, retry, dead: `${base}.dead` };
}

/**
 * The delays a queue can wait: the exponential steps of its backoff
 * (`minMs · factor^k`, so with no jitter every retry lands exactly on one),
 * and `maxMs`. Spread geometrically instead when there would be more than
 * {@link MAX_RETRY_LEVELS}.
 */
export function retryLevels(backoff: BackoffPolicy): number[] {
  const min = Math.max(1, backoff.minMs);
  const max = Math.max(min, backoff.maxMs);
  let factor = backoff.factor;
  if (factor <= 1 || Math.log(max / min) / Math.log(factor) > MAX_RETRY_LEVELS - 1) factor = Math.pow(max / min, 1 / (MAX_RETRY_LEVELS - 1));
  const levels = new Set<number>();
  if (factor > 1) for (let v = min; v < max; v *= factor) levels.add(Math.round(v));
  levels.add(max);
  return [...levels].sort((a, b) => a - b);
}

/**
 * The step a computed delay waits on: rounded up or down to a neighbouring
 * step at random, in proportion to how close it is, so the mean delay (and
 * the spread jitter asked for) survives the rounding. A delay on a step stays
 * on it; below the first it takes the first.
 * @param levels - ascending, from {@link retryLevels}
 * @param delayMs - the policy's delay
 * @param random - uniform in [0, 1)
 */
export function pickRetryLevel(levels: readonly number[], delayMs: number, random: () => number): number {
  const first = levels[0]!;
  if (delayMs <= first) return first;
  for (let i = 0; i < levels.length - 1; i++) {
    const lo = levels[i]!;
    const hi = levels[i + 1]!;
    if (delayMs >= lo && delayMs < hi) return random() < (delayMs - lo) / (hi - lo) ? hi : lo;
  }
  return levels[levels.length - 1]!;
}

/** Which shard a key goes to: FNV-1a, stable across processes and restarts. */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

export type RetryQueueType = 'quorum' | 'classic';

/** Arguments of each broker object. They must be identical wherever a queue is declared, or RabbitMQ refuses (406). */
export function workQueueArgs(ordered: boolean): Record<string, unknown> {
  return ordered ? { 'x-queue-version': 2, 'x-single-active-consumer': true } : { 'x-queue-version': 2 };
}

export function retryQueueArgs(ttlMs: number, target: string, type: RetryQueueType): Record<string, unknown> {
  const route = { 'x-message-ttl': ttlMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': target };
  return type === 'quorum'
    ? { ...route, 'x-queue-type': 'quorum', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' }
    : { ...route, 'x-queue-version': 2 };
}

export function deadQueueArgs(): Record<string, unknown> {
  return { 'x-queue-version': 2 };
}
