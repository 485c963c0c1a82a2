import { IntegrationError } from '../shared/errors';
import { resolvePolicy } from './policy';
import { decideFailure, describeFailure, isRetryable } from './retry-decision';
import type { QueueMessage } from './types';

const T0 = Date.UTC(2026, 0, 1);

function message(over: Partial<QueueMessage> = {}): QueueMessage {
  return {
    id: 'm1',
    queue: 'q',
    key: 'pk',
    body: Buffer.from('x'),
    headers: {},
    attempts: 1,
    firstEnqueuedAt: new Date(T0),
    enqueuedAt: new Date(T0),
    deadlineAt: new Date(T0 + 10_000),
    history: [],
    ...over,
  };
}

const policy = resolvePolicy({ maxAttempts: 5, maxAgeMs: 10_000, deadlineWarningMs: 4000, backoff: { minMs: 1000, maxMs: 8000, factor: 2, jitter: 0 } });
const transient = new IntegrationError('timeout talking to lis-1', 'TIMEOUT', true);
const permanent = new IntegrationError('AR ACK for control ID 9', 'NACK', false);

test('typed errors decide retryability; untyped ones are retried', () => {
  expect(isRetryable(transient)).toBe(true);
  expect(isRetryable(permanent)).toBe(false);
  expect(isRetryable(Object.assign(new Error('x'), { retryable: false }))).toBe(false);
  expect(isRetryable(new Error('boom'))).toBe(true);
  expect(isRetryable('a string')).toBe(true);
});

test('the history keeps typed messages only; foreign text may quote content', () => {
  expect(describeFailure(permanent, 2, new Date(T0))).toEqual({ event: 'failed', at: new Date(T0), attempt: 2, code: 'NACK', retryable: false, error: 'IntegrationError', message: 'AR ACK for control ID 9' });
  expect(describeFailure(new TypeError('PID|1||CANARY'), 1, new Date(T0))).toMatchObject({ code: 'UNKNOWN', error: 'TypeError', message: null });
  expect(describeFailure(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }), 1, new Date(T0)).code).toBe('ECONNREFUSED');
});

test('a permanent failure dead-letters at once', () => {
  const d = decideFailure(policy, message(), permanent, T0 + 10, Math.random);
  expect(d).toMatchObject({ kind: 'dead', reason: 'permanent', escalation: null });
  expect(d.history).toHaveLength(1);
});

test('the last allowed attempt dead-letters', () => {
  expect(decideFailure(policy, message({ attempts: 5 }), transient, T0 + 10, Math.random)).toMatchObject({ kind: 'dead', reason: 'max-attempts' });
});

test('retries back off exponentially', () => {
  expect(decideFailure(policy, message({ attempts: 1 }), transient, T0 + 10, Math.random)).toMatchObject({ kind: 'retry', delayMs: 1000, escalation: null });
  expect(decideFailure(policy, message({ attempts: 3 }), transient, T0 + 10, Math.random)).toMatchObject({ kind: 'retry', delayMs: 4000 });
});

test('a retry never waits past the deadline, and warns once inside the warning window', () => {
  const first = decideFailure(policy, message({ attempts: 4 }), transient, T0 + 7000, Math.random);
  expect(first).toMatchObject({ kind: 'retry', delayMs: 3000 });
  expect(first.escalation).toMatchObject({ kind: 'approaching', action: 'retry', id: 'm1', key: 'pk', attempts: 4 });
  const again = decideFailure(policy, message({ attempts: 4, history: first.history }), transient, T0 + 8000, Math.random);
  expect(again.escalation).toBeNull();
});

test('after the deadline it escalates and dead-letters, or keeps retrying when told to', () => {
  const d = decideFailure(policy, message({ attempts: 2 }), transient, T0 + 10_000, Math.random);
  expect(d).toMatchObject({ kind: 'dead', reason: 'deadline' });
  expect(d.escalation).toMatchObject({ kind: 'expired', action: 'dead-letter', deadlineAt: new Date(T0 + 10_000) });
  const keepGoing = resolvePolicy({ ...policy, onDeadline: 'retry' });
  const r = decideFailure(keepGoing, message({ attempts: 2 }), transient, T0 + 12_000, Math.random);
  expect(r).toMatchObject({ kind: 'retry', delayMs: 2000 });
  expect(r.escalation).toMatchObject({ kind: 'expired', action: 'retry' });
});

test('no deadline, no escalation', () => {
  const noDeadline = resolvePolicy({ ...policy, maxAgeMs: null });
  expect(decideFailure(noDeadline, message({ deadlineAt: null }), transient, T0 + 1e9, Math.random)).toMatchObject({ kind: 'retry', escalation: null });
});
