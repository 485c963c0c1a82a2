import type { EventEmitter } from 'node:events';
import type { IntegrationError } from '../shared/errors';
import type { QueuePolicy, QueuePolicyInput } from './policy';
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPage,
  DeadLetterReason,
  EnqueueInput,
  EnqueueReceipt,
  Escalation,
  QueueMessage,
  QueueStats,
  ReplayOptions,
} from './types';

/** What the handler gets besides the message. */
export interface HandlerContext {
  /**
   * Aborted when the attempt is given up on: the handler timed out, or the
   * consumer closed before it finished. Pass it to the destination call.
   */
  signal: AbortSignal;
}

/**
 * Resolve to acknowledge. Reject to fail the attempt: the policy retries it,
 * or dead-letters it when the error has `retryable === false` or the attempts
 * are used up. Deliveries are at-least-once: use `message.id` as the
 * idempotency key downstream.
 */
export type MessageHandler = (message: QueueMessage, context: HandlerContext) => Promise<void>;

export interface ConsumeOptions {
  /** Handler calls in flight at once; default the policy's `concurrency`. */
  concurrency?: number;
  /** Messages waiting for or in a handler at once (acknowledgements being written add at most as many again); default the policy's `prefetch`, at least `concurrency`. */
  prefetch?: number;
  /** A failure near or past the message's deadline. Must not throw. */
  onEscalation?: (escalation: Escalation) => void;
  /** Problems outside a handler: a lost connection, a settle that failed. Default: the adapter's logger. */
  onError?: (error: IntegrationError) => void;
}

export interface Consumer {
  readonly queue: string;
  /** Handlers running now. */
  readonly active: number;
  /**
   * Stops taking messages, waits up to `drainTimeoutMs` (default the
   * adapter's `closeTimeoutMs`) for running handlers, then gives every held
   * message back unacknowledged so it is delivered again. Idempotent.
   * @param options - `drainTimeoutMs: 0` abandons running handlers at once (their results are ignored)
   */
  close(options?: { drainTimeoutMs?: number }): Promise<void>;
}

export interface MessageQueueEvents {
  /** The broker connection is (re)established and topology declared. */
  connected: [];
  disconnected: [info: { errorCode: string }];
  escalation: [escalation: Escalation];
  deadLettered: [info: { queue: string; id: string; reason: DeadLetterReason; attempts: number; errorCode: string | null }];
  /** Background problems no caller is waiting for (also passed to consumers' `onError`). */
  error: [error: IntegrationError];
}

/**
 * A durable work queue with retries, ordering, deadlines and dead letters,
 * over SQLite (embedded), RabbitMQ or SQS. Every backend passes the same
 * contract suite (test/contract/message-queue.contract.ts).
 *
 * Delivery is at-least-once: an enqueue resolves only once the message is
 * durable, a message is removed only after its handler resolved, and anything
 * held by a consumer that dies is delivered again.
 */
export interface MessageQueue extends EventEmitter<MessageQueueEvents> {
  readonly backend: QueueStats['backend'];

  /**
   * Sets a queue's policy (otherwise the adapter's `policies[queue]` or
   * default applies) and creates its broker objects. Idempotent.
   * @param queue - queue name, `[A-Za-z0-9_-]`, at most 64 characters
   * @param policy - overrides on top of the adapter's configured policy for this queue
   */
  declareQueue(queue: string, policy?: QueuePolicyInput): Promise<QueuePolicy>;

  /** The policy in force for a queue. */
  policyFor(queue: string): QueuePolicy;

  /**
   * Adds a message; resolves once it is durable (committed, confirmed by the
   * broker). Slows down rather than buffering without bound when the backend
   * falls behind.
   * @param queue - queue name
   * @param input - body, id (the hub message id), ordering key, headers
   */
  enqueue(queue: string, input: EnqueueInput): Promise<EnqueueReceipt>;

  /**
   * Starts handling messages of `queue`. Several consumers (in this or other
   * processes) share the work.
   * @param queue - queue name
   * @param handler - resolve = done, reject = failed attempt
   * @param options - concurrency, prefetch, escalation and error callbacks
   */
  consume(queue: string, handler: MessageHandler, options?: ConsumeOptions): Promise<Consumer>;

  /** Depth and age of the oldest waiting message, for the monitor. */
  stats(queue: string): Promise<QueueStats>;

  /**
   * Dead letters of a queue, oldest first, without bodies.
   * @param queue - queue name
   * @param filter - reason, last error code, key, time range; `limit` (default 50, at most 500) and `cursor` page
   */
  listDeadLetters(queue: string, filter?: DeadLetterFilter & { limit?: number; cursor?: string }): Promise<DeadLetterPage>;

  /**
   * One dead letter, optionally with its body (a PHI read: audit it).
   * @param queue - queue name
   * @param id - message id
   */
  getDeadLetter(queue: string, id: string, options?: { includeBody?: boolean }): Promise<DeadLetter | null>;

  /**
   * Puts a dead letter back on its queue with a fresh attempt budget and
   * deadline, keeping its id and history. Throws {@link DeadLetterNotFoundError}.
   * @param queue - queue name
   * @param id - message id
   * @param options - an edited body or headers, and who replayed it
   */
  replayDeadLetter(queue: string, id: string, options?: ReplayOptions): Promise<void>;

  /**
   * Replays every dead letter matching `filter`; returns how many.
   * @param queue - queue name
   * @param filter - as for {@link listDeadLetters}; empty replays all
   */
  replayDeadLetters(queue: string, filter?: DeadLetterFilter, options?: { by?: string }): Promise<number>;

  /**
   * Deletes a dead letter for good. Throws {@link DeadLetterNotFoundError}.
   * @param queue - queue name
   * @param id - message id
   */
  discardDeadLetter(queue: string, id: string): Promise<void>;

  /** Removes a queue, its retry and dead-letter companions and everything in them. For tests and decommissioning. */
  deleteQueue(queue: string): Promise<void>;

  /** Ready to serve: the database or broker answers. For `/readyz`. */
  ping(): Promise<void>;

  /** Closes consumers (bounded drain), flushes pending enqueues and disconnects. Idempotent and bounded by `closeTimeoutMs`. */
  close(): Promise<void>;
}
