import { IntegrationError } from '../shared/errors';
import type { ErrorCode } from '../shared/errors';

/**
 * Errors raised by the queue adapters. Like every adapter error they name
 * queues, message ids and counts, never body or header content: bodies are
 * PHI, and headers may carry identifiers a caller should not have put there.
 */

/** Invalid options or policy; raised from constructors and `declareQueue`, never mid-flight. */
export class QueueConfigError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CONFIG', false, options);
  }
}

/** The broker cannot be reached or dropped the connection. Retryable: the adapter reconnects by itself. */
export class QueueUnavailableError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CONNECT_FAILED', true, options);
  }
}

/**
 * An enqueue was not confirmed in time. Retryable, but the broker may still
 * have the message: retrying can deliver it twice, which the idempotency key
 * (the message id) makes harmless downstream.
 */
export class QueueTimeoutError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'TIMEOUT', true, options);
  }
}

/** The adapter or consumer was closed while the call was pending. Retryable: a redeploy, not a bad message. */
export class QueueClosedError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'CONNECT_FAILED', true, options);
  }
}

/** The message itself cannot be queued (too large, bad key or header); retrying the same input fails again. */
export class QueueMessageError extends IntegrationError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'PARSE', false, options);
  }
}

/** No dead letter with that id in that queue (already replayed or discarded). */
export class DeadLetterNotFoundError extends IntegrationError {
  constructor(queue: string, id: string) {
    super(`no dead letter ${id} in queue ${queue}`, 'NOT_FOUND', false);
  }
}

/** The broker or database refused an operation for a reason other than connectivity. */
export class QueueBackendError extends IntegrationError {
  constructor(message: string, code: ErrorCode, retryable: boolean, options?: ErrorOptions) {
    super(message, code, retryable, options);
  }
}

/** A handler did not settle within the policy's `handlerTimeoutMs`; the attempt counts as a retryable failure. */
export class HandlerTimeoutError extends IntegrationError {
  constructor(queue: string, id: string, timeoutMs: number) {
    super(`handler for message ${id} on queue ${queue} did not finish within ${timeoutMs} ms`, 'TIMEOUT', true);
  }
}
