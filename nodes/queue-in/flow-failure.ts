import { errorCode, IntegrationError } from '../../adapters/shared/errors';

/**
 * The error a queue-in handler rejects with when the flow failed a message,
 * which decides retry or dead letter. A node's own typed error passes through
 * (its message names identifiers only); `msg.retryable === false` set by the
 * failing node (as mllp-out, emr-out and astm-out do, or a function node)
 * makes it permanent. Anything untyped becomes a {@link FlowError}: a
 * foreign error's text may quote the payload, so it never reaches the
 * queue's history, logs or status.
 *
 * @param error - what the failing node passed to done()
 * @param msgRetryable - `msg.retryable` of the msg it failed
 * @param queue - queue name
 * @param id - message id
 */
export function flowFailure(error: unknown, msgRetryable: unknown, queue: string, id: string): Error {
  const permanent = msgRetryable === false || (error as { retryable?: unknown } | null)?.retryable === false;
  if (error instanceof IntegrationError) {
    return error.retryable === !permanent ? error : new IntegrationError(error.message, error.code, !permanent, { cause: error });
  }
  const code = errorCode(error);
  return new FlowError(`flow failed message ${id} from queue ${queue}`, code === 'UNKNOWN' ? 'FLOW_ERROR' : code, !permanent);
}

/**
 * A flow error without a typed cause: `code` is the original error's code
 * (`ECONNREFUSED`) or `FLOW_ERROR`. Not an IntegrationError on purpose: the
 * queue keeps only typed errors' messages, and this one has nothing to add.
 */
export class FlowError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'FlowError';
  }
}

/** The flow did not complete a message within the node's timeout. Retryable: the destination may just be slow. */
export function flowTimeout(queue: string, id: string, timeoutMs: number): IntegrationError {
  return new IntegrationError(`flow did not complete message ${id} from queue ${queue} within ${timeoutMs} ms`, 'TIMEOUT', true);
}
