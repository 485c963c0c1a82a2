import { errorCode, IntegrationError } from '../shared/errors';
import { deadlineWarningMs, retryDelayMs } from './policy';
import type { QueuePolicy } from './policy';
import { MAX_HISTORY } from './types';
import type { DeadLetterReason, Escalation, FailedAttempt, HistoryEntry, QueueMessage } from './types';

const MAX_ERROR_MESSAGE = 500;

/** What the backend does with a message whose handler failed. */
export type FailureDecision =
  | { kind: 'retry'; delayMs: number; failure: FailedAttempt; history: HistoryEntry[]; escalation: Escalation | null }
  | { kind: 'dead'; reason: DeadLetterReason; failure: FailedAttempt; history: HistoryEntry[]; escalation: Escalation | null };

/**
 * Whether a failure is worth another attempt. Typed errors say so themselves
 * (an AR ACK or an HTTP 4xx is `retryable: false`); anything untyped is
 * retried, because an unexpected exception is more often a transient fault
 * than a bad message, and `maxAttempts` still bounds it.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof IntegrationError) return err.retryable;
  if (err && typeof err === 'object' && typeof (err as { retryable?: unknown }).retryable === 'boolean') return (err as { retryable: boolean }).retryable;
  return true;
}

/**
 * A history entry for a failed attempt. Keeps the text of typed errors only:
 * their messages name identifiers by contract, while a foreign error's text
 * may quote the payload.
 */
export function describeFailure(err: unknown, attempt: number, at: Date): FailedAttempt {
  return {
    event: 'failed',
    at,
    attempt,
    code: errorCode(err),
    retryable: isRetryable(err),
    error: err instanceof Error ? err.name : typeof err,
    message: err instanceof IntegrationError ? err.message.slice(0, MAX_ERROR_MESSAGE) : null,
  };
}

/** Appends to a history, keeping the newest {@link MAX_HISTORY} entries. */
export function appendHistory(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  const out = [...history, entry];
  return out.length > MAX_HISTORY ? out.slice(out.length - MAX_HISTORY) : out;
}

/**
 * Applies a queue's policy to a failed attempt: dead-letter it at once when
 * the error is permanent or the attempts are used up, escalate around the
 * deadline, and otherwise pick the backoff delay. Retries never wait past the
 * deadline: the last one lands on it, and a failure after it escalates.
 * @param policy - the queue's policy
 * @param message - the delivery that failed (its `attempts` is the failed attempt)
 * @param err - what the handler threw
 * @param now - epoch ms
 * @param random - uniform in [0, 1), for jitter
 */
export function decideFailure(policy: QueuePolicy, message: QueueMessage, err: unknown, now: number, random: () => number): FailureDecision {
  const failure = describeFailure(err, message.attempts, new Date(now));
  const history = appendHistory(message.history, failure);
  const dead = (reason: DeadLetterReason, escalation: Escalation | null = null): FailureDecision => ({ kind: 'dead', reason, failure, history, escalation });
  if (!failure.retryable) return dead('permanent');
  if (message.attempts >= policy.maxAttempts) return dead('max-attempts');

  const deadline = message.deadlineAt?.getTime();
  const escalate = (kind: Escalation['kind'], action: Escalation['action']): Escalation => ({
    kind,
    queue: message.queue,
    id: message.id,
    key: message.key,
    attempts: message.attempts,
    enqueuedAt: message.enqueuedAt,
    deadlineAt: new Date(deadline!),
    lastError: failure,
    action,
  });
  let delayMs = retryDelayMs(policy.backoff, message.attempts, random);
  if (deadline === undefined) return { kind: 'retry', delayMs, failure, history, escalation: null };

  if (now >= deadline) {
    if (policy.onDeadline === 'dead-letter') return dead('deadline', escalate('expired', 'dead-letter'));
    return { kind: 'retry', delayMs, failure, history, escalation: escalate('expired', 'retry') };
  }
  delayMs = Math.min(delayMs, deadline - now);
  const warnFrom = deadline - deadlineWarningMs(policy);
  // Warn once: on the first failure inside the warning window.
  const warnedBefore = message.history.some((h) => h.event === 'failed' && h.at.getTime() >= warnFrom);
  const escalation = now >= warnFrom && !warnedBefore ? escalate('approaching', 'retry') : null;
  return { kind: 'retry', delayMs, failure, history, escalation };
}
