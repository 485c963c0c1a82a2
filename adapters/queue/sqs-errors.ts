import { IntegrationError } from '../shared/errors';
import { QueueBackendError, QueueUnavailableError } from './errors';

/**
 * Maps an AWS SDK failure onto the hub's error codes: the network or a 5xx
 * is retryable, throttling is RATE_LIMITED, an access problem is AUTH, other
 * client faults (a bad request, a missing queue) are not worth repeating.
 * The SDK message names the operation and queue, never message content.
 */
export function wrapSqsError(err: unknown, what: string): IntegrationError {
  if (err instanceof IntegrationError) return err;
  const e = err as { name?: string; $fault?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const name = e?.name ?? 'Error';
  if (/Throttl|RequestThrottled|OverLimit|KmsThrottled/i.test(name)) return new QueueBackendError(`${what}: SQS throttled (${name})`, 'RATE_LIMITED', true, { cause: err });
  if (/AccessDenied|InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient|ExpiredToken/i.test(name)) return new QueueBackendError(`${what}: SQS refused the credentials (${name})`, 'AUTH', false, { cause: err });
  if (e?.$fault === 'client') return new QueueBackendError(`${what}: SQS rejected the request (${name})`, 'PROVIDER', false, { cause: err });
  if (e?.$fault === 'server') return new QueueBackendError(`${what}: SQS failed (${name})`, 'PROVIDER', true, { cause: err });
  return new QueueUnavailableError(`${what}: SQS is not reachable (${typeof e?.code === 'string' ? e.code : name})`, { cause: err });
}

export function isAbort(err: unknown): boolean {
  return (err as { name?: string })?.name === 'AbortError';
}
