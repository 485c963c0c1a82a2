/**
 * Durable work queues with retries, per-key ordering, deadlines and dead
 * letters, behind one {@link MessageQueue} interface: embedded (SQLite, the
 * default), RabbitMQ and SQS. Nodes and the REST API use only this surface.
 */
export type { ConsumeOptions, Consumer, HandlerContext, MessageHandler, MessageQueue, MessageQueueEvents } from './message-queue';
export type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPage,
  DeadLetterReason,
  EnqueueInput,
  EnqueueReceipt,
  Escalation,
  FailedAttempt,
  HistoryEntry,
  QueueMessage,
  QueueStats,
  ReplayOptions,
} from './types';
export { MAX_HISTORY } from './types';
export { DEFAULT_POLICY, resolvePolicy, retryDelayMs } from './policy';
export type { BackoffPolicy, QueuePolicy, QueuePolicyInput } from './policy';
export { isRetryable } from './retry-decision';
export type { QueueDeps, Timers } from './deps';
export {
  DeadLetterNotFoundError,
  HandlerTimeoutError,
  QueueBackendError,
  QueueClosedError,
  QueueConfigError,
  QueueMessageError,
  QueueTimeoutError,
  QueueUnavailableError,
} from './errors';
export { EmbeddedQueue } from './embedded-queue';
export type { EmbeddedQueueOptions } from './embedded-queue';
export { InMemoryQueue } from './in-memory-queue';
export { RabbitMqQueue } from './rabbitmq-queue';
export type { RabbitMqQueueDeps, RabbitMqQueueOptions } from './rabbitmq-queue';
export type { AmqpConnect } from './rabbitmq-connection';
export { shardOf } from './rabbitmq-topology';
export { SqsQueue } from './sqs-queue';
export type { SqsQueueDeps, SqsQueueOptions } from './sqs-queue';
export { createMessageQueue, parseQueueUrl } from './create-queue';
export { QueueDirectory } from './queue-directory';
export type { CreateQueueOptions, QueueLocation } from './create-queue';
