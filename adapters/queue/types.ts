/**
 * The data that crosses the queue boundary. Times are `Date`s at the API and
 * epoch milliseconds inside the backends.
 */

/** What a producer hands to {@link MessageQueue.enqueue}. */
export interface EnqueueInput {
  /**
   * The hub message id (UUIDv7 from the store), which is also the idempotency
   * key destination adapters pass on. Generated when absent.
   */
  id?: string;
  /**
   * Ordering key for queues with `ordering: 'key'`: messages with the same key
   * are handled one at a time, in enqueue order. Use the store's patient key
   * (a keyed hash), never an MRN: keys are stored and logged in the clear.
   * Informational on parallel queues.
   */
  key?: string | null;
  /**
   * The payload: plaintext, already encrypted data, or a reference to a stored
   * message. The embedded queue always stores it encrypted at rest (it is PHI);
   * RabbitMQ and SQS store it as given unless the adapter has a `cipher`.
   */
  body: Buffer | string;
  /** Small metadata (type, control id, routing hints). Stored in the clear: no PHI. */
  headers?: Record<string, string>;
}

export interface EnqueueReceipt {
  id: string;
  queue: string;
}

/** One entry of a message's history: a failed attempt or an operator replay. */
export type HistoryEntry =
  | {
      event: 'failed';
      at: Date;
      /** The attempt that failed (1-based). */
      attempt: number;
      /** `IntegrationError.code`, or `UNKNOWN` for untyped errors. */
      code: string;
      retryable: boolean;
      /** Error class name. */
      error: string;
      /**
       * The message of an `IntegrationError` (PHI-free by contract); null for
       * foreign errors, whose text may quote message content.
       */
      message: string | null;
    }
  | { event: 'replayed'; at: Date; edited: boolean; by: string | null };

export type FailedAttempt = Extract<HistoryEntry, { event: 'failed' }>;

/** A delivery handed to a consumer's handler. */
export interface QueueMessage {
  /** Hub message id, also the idempotency key: the same on every retry, redelivery and replay. */
  readonly id: string;
  readonly queue: string;
  readonly key: string | null;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Number of this delivery attempt, 1-based. Failed attempts always count;
   * a delivery cut off by a crash counts on the embedded and SQS backends, and
   * not on RabbitMQ (which cannot rewrite a requeued message).
   */
  readonly attempts: number;
  /** When the message was first enqueued (kept across replays). */
  readonly firstEnqueuedAt: Date;
  /** When this run started: the enqueue, or the latest replay. The deadline counts from here. */
  readonly enqueuedAt: Date;
  /** `enqueuedAt + maxAgeMs`, or null when the policy has no deadline. */
  readonly deadlineAt: Date | null;
  /** Earlier failed attempts and replays, oldest first (the last {@link MAX_HISTORY}). */
  readonly history: readonly HistoryEntry[];
}

/** Why a message ended in the dead letters. */
export type DeadLetterReason =
  /** The handler failed with `retryable: false` (an AR ACK, an HTTP 4xx). */
  | 'permanent'
  /** `maxAttempts` failed attempts. */
  | 'max-attempts'
  /** Failed after its deadline (`maxAgeMs`) with `onDeadline: 'dead-letter'`. */
  | 'deadline'
  /** Moved by the broker's own redrive (SQS `maxReceiveCount`), e.g. after repeated consumer crashes. */
  | 'redrive';

export interface DeadLetter {
  id: string;
  queue: string;
  key: string | null;
  headers: Record<string, string>;
  /** Attempts made before it was dead-lettered. */
  attempts: number;
  firstEnqueuedAt: Date;
  enqueuedAt: Date;
  deadAt: Date;
  reason: DeadLetterReason;
  lastError: FailedAttempt | null;
  history: HistoryEntry[];
  /** Body length in bytes (as queued). */
  size: number;
  /** Only from {@link MessageQueue.getDeadLetter} with `includeBody`. */
  body?: Buffer;
}

/** Selects dead letters for listing and bulk replay; all given fields must match. */
export interface DeadLetterFilter {
  reason?: DeadLetterReason;
  /** Code of the last error, e.g. `NACK`, `TIMEOUT`. */
  errorCode?: string;
  key?: string;
  /** Dead-lettered at or after. */
  from?: Date;
  /** Dead-lettered before. */
  to?: Date;
}

export interface DeadLetterPage {
  items: DeadLetter[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

export interface ReplayOptions {
  /** Replace the body (a corrected message). The id stays: it is still the same hub message. */
  body?: Buffer | string;
  /** Replace the headers. */
  headers?: Record<string, string>;
  /** Who asked (user name), recorded in the history for the audit trail. */
  by?: string;
}

/** Queue depth for the monitor. */
export interface QueueStats {
  queue: string;
  backend: 'embedded' | 'rabbitmq' | 'sqs';
  /** Waiting and due now. */
  ready: number;
  /** Waiting for a retry backoff (or, on SQS, for a send delay). */
  delayed: number;
  /**
   * Held by consumers. RabbitMQ reports this process's unacknowledged
   * deliveries only; SQS includes messages waiting out a retry backoff.
   */
  inFlight: number;
  dead: number;
  /**
   * Age (since enqueue or replay) of the oldest message not yet handled
   * successfully; null when there is none or the backend cannot tell. Embedded:
   * exact. RabbitMQ: the heads of the work queues and what this process holds
   * (messages waiting out a retry are not looked at). SQS: null (the API has no
   * such figure; CloudWatch's ApproximateAgeOfOldestMessage does).
   */
  oldestWaitingAgeMs: number | null;
}

/** Raised to the consumer's `onEscalation` and the queue's `escalation` event. Carries no body. */
export interface Escalation {
  /** `approaching`: a failure left less than `deadlineWarningMs` to the deadline. `expired`: it failed after the deadline. */
  kind: 'approaching' | 'expired';
  queue: string;
  id: string;
  key: string | null;
  attempts: number;
  enqueuedAt: Date;
  deadlineAt: Date;
  lastError: FailedAttempt;
  /** What the queue does with the message now. */
  action: 'retry' | 'dead-letter';
}

/** Kept per message; older entries are dropped so headers stay small (SQS and AMQP limit them). */
export const MAX_HISTORY = 20;
