import { QueueConfigError } from './errors';

export interface BackoffPolicy {
  /** Delay before the first retry, and the floor for every retry. */
  minMs: number;
  /** Ceiling for any retry delay. */
  maxMs: number;
  /** Growth per failed attempt. */
  factor: number;
  /**
   * Fraction of each delay that is randomised (0 = none, 1 = anywhere between
   * `minMs` and the exponential value). Spreads the retries of many messages
   * that failed together, so a recovering destination is not hit all at once.
   */
  jitter: number;
}

/** How one queue retries, orders and escalates. Every hub process must use the same policy for a queue. */
export interface QueuePolicy {
  /** Failed attempts before the message is dead-lettered. */
  maxAttempts: number;
  backoff: BackoffPolicy;
  /**
   * Deadline, counted from enqueue (or replay): a message that fails after it
   * escalates instead of retrying silently. null = no deadline.
   */
  maxAgeMs: number | null;
  /** Escalate as `approaching` when a failure leaves less than this to the deadline. Default a quarter of `maxAgeMs`. */
  deadlineWarningMs: number | null;
  /** What happens to a message that fails after its deadline: dead-letter it (default) or keep retrying (still escalating). */
  onDeadline: 'dead-letter' | 'retry';
  /**
   * `key`: strict FIFO per message key (one message per key in flight, and a
   * failing message holds back the later ones with its key until it succeeds
   * or is dead-lettered). `parallel`: no ordering.
   */
  ordering: 'parallel' | 'key';
  /** Handler calls in flight at once per consumer. */
  concurrency: number;
  /** Messages a consumer holds at once (running plus waiting for a handler slot): the bound on consumer memory. */
  prefetch: number;
  /** A handler that has not settled by then counts as a retryable TIMEOUT failure; its signal is aborted. */
  handlerTimeoutMs: number;
  /**
   * How long a consumer's claim on a message lasts without being renewed
   * (embedded lease, SQS visibility timeout). Live consumers renew it; a
   * crashed one's messages come back after it.
   */
  leaseMs: number;
  /**
   * RabbitMQ only, `ordering: 'key'`: number of shard queues keys are hashed
   * onto. Fixed per queue: changing it reorders keys in flight.
   */
  shards: number;
}

export const DEFAULT_POLICY: QueuePolicy = {
  maxAttempts: 10,
  backoff: { minMs: 1000, maxMs: 300_000, factor: 2, jitter: 0.2 },
  maxAgeMs: 24 * 3_600_000,
  deadlineWarningMs: null,
  onDeadline: 'dead-letter',
  ordering: 'parallel',
  concurrency: 4,
  prefetch: 16,
  handlerTimeoutMs: 120_000,
  leaseMs: 30_000,
  shards: 8,
};

/** A policy as written in configuration: any field may be left out. */
export type QueuePolicyInput = Partial<Omit<QueuePolicy, 'backoff'>> & { backoff?: Partial<BackoffPolicy> };

/**
 * Fills a partial policy from `base` and checks it.
 * @param input - the queue's own settings
 * @param base - defaults to fall back on
 * @param queue - named in error messages
 */
export function resolvePolicy(input: QueuePolicyInput | undefined, base: QueuePolicy = DEFAULT_POLICY, queue = '(default)'): QueuePolicy {
  const p: QueuePolicy = { ...base, ...stripUndefined(input ?? {}), backoff: { ...base.backoff, ...stripUndefined(input?.backoff ?? {}) } };
  const bad = (field: string, allowed: string): never => {
    throw new QueueConfigError(`queue ${queue}: policy ${field} must be ${allowed}`);
  };
  const int = (v: number, min: number): boolean => Number.isInteger(v) && v >= min;
  if (!int(p.maxAttempts, 1)) bad('maxAttempts', 'an integer ≥ 1');
  if (!int(p.backoff.minMs, 0)) bad('backoff.minMs', 'an integer ≥ 0');
  if (!int(p.backoff.maxMs, p.backoff.minMs)) bad('backoff.maxMs', 'an integer ≥ backoff.minMs');
  if (!(p.backoff.factor >= 1)) bad('backoff.factor', '≥ 1');
  if (!(p.backoff.jitter >= 0 && p.backoff.jitter <= 1)) bad('backoff.jitter', 'between 0 and 1');
  if (p.maxAgeMs !== null && !int(p.maxAgeMs, 1)) bad('maxAgeMs', 'null or an integer ≥ 1');
  if (p.deadlineWarningMs !== null && !int(p.deadlineWarningMs, 0)) bad('deadlineWarningMs', 'null or an integer ≥ 0');
  if (p.onDeadline !== 'dead-letter' && p.onDeadline !== 'retry') bad('onDeadline', 'dead-letter or retry');
  if (p.ordering !== 'parallel' && p.ordering !== 'key') bad('ordering', 'parallel or key');
  if (!int(p.concurrency, 1) || p.concurrency > 1000) bad('concurrency', 'an integer 1-1000');
  if (!int(p.prefetch, 1) || p.prefetch > 10_000) bad('prefetch', 'an integer 1-10000');
  if (!int(p.handlerTimeoutMs, 1)) bad('handlerTimeoutMs', 'an integer ≥ 1');
  if (!int(p.leaseMs, 1000) || p.leaseMs > 12 * 3_600_000) bad('leaseMs', 'an integer between 1000 and 43200000');
  if (!int(p.shards, 1) || p.shards > 256) bad('shards', 'an integer 1-256');
  return p;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Delay before the retry that follows failed attempt `attempt` (1-based):
 * `minMs · factor^(attempt-1)`, capped at `maxMs`, then stretched by up to
 * `jitter` of itself (never past `maxMs`). Jitter only lengthens a wait, so the
 * exponential value is a guaranteed lower bound and `maxMs` a hard ceiling;
 * the first retry is jittered too, which is the one a shared outage makes
 * every message take at the same moment.
 * @param backoff - the queue's backoff policy
 * @param attempt - the attempt that just failed, 1-based
 * @param random - uniform in [0, 1)
 */
export function retryDelayMs(backoff: BackoffPolicy, attempt: number, random: () => number): number {
  const exponential = backoff.minMs * Math.pow(backoff.factor, Math.max(0, attempt - 1));
  const capped = Math.min(backoff.maxMs, exponential);
  return Math.round(Math.min(backoff.maxMs, capped * (1 + backoff.jitter * random())));
}

/** The warning window before a deadline, from the policy. */
export function deadlineWarningMs(policy: QueuePolicy): number {
  if (policy.maxAgeMs === null) return 0;
  return policy.deadlineWarningMs ?? Math.floor(policy.maxAgeMs / 4);
}
