import { QueueBackendError } from './errors';
import type { DeadLetter, DeadLetterFilter, FailedAttempt, HistoryEntry } from './types';

export const DEFAULT_DEAD_LETTER_PAGE = 50;
export const MAX_DEAD_LETTER_PAGE = 500;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_DEAD_LETTER_PAGE;
  if (!Number.isInteger(limit) || limit < 1) throw new QueueBackendError('dead-letter page limit must be a positive integer', 'PARSE', false);
  return Math.min(limit, MAX_DEAD_LETTER_PAGE);
}

/** The newest failed attempt of a history. */
export function lastFailure(history: readonly HistoryEntry[]): FailedAttempt | null {
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i]!;
    if (h.event === 'failed') return h;
  }
  return null;
}

/** For backends that filter in memory (RabbitMQ, SQS): the same rules the embedded queue applies in SQL. */
export function matchesDeadLetter(d: DeadLetter, f: DeadLetterFilter): boolean {
  if (f.reason !== undefined && d.reason !== f.reason) return false;
  if (f.errorCode !== undefined && d.lastError?.code !== f.errorCode) return false;
  if (f.key !== undefined && d.key !== f.key) return false;
  if (f.from !== undefined && d.deadAt.getTime() < f.from.getTime()) return false;
  if (f.to !== undefined && d.deadAt.getTime() >= f.to.getTime()) return false;
  return true;
}

/** Offset cursors for backends that can only scan (RabbitMQ, SQS). */
export function offsetFromCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const n = Number(cursor);
  if (!Number.isSafeInteger(n) || n < 0) throw new QueueBackendError('invalid dead-letter cursor', 'PARSE', false);
  return n;
}
