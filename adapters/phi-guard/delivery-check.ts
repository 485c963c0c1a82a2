import { DeliveryFailedError, DeliveryPendingError } from './errors';
import type { SentRecord, SentRegistry } from './sent-registry';

/**
 * The delivery check behind time-critical messages (trigger-shot
 * instructions): resolves once the provider confirmed delivery, throws a
 * retryable {@link DeliveryPendingError} while it has not, and a permanent
 * {@link DeliveryFailedError} when it reported failure.
 *
 * Meant as the handler of a queue job enqueued right after the send, on a
 * queue whose `maxAgeMs` is the latest acceptable delivery time: the queue
 * retries the check with backoff, escalates `approaching` near the deadline
 * and `expired` past it, and dead-letters a failure at once (escalation to a
 * nurse or a voice call hangs off those events). An unknown id counts as
 * pending, since the check may run before the send was recorded.
 *
 * @param registry - the sent registry the sender and callbacks update
 * @param hubMessageId - the message to check
 */
export async function assertDelivered(registry: SentRegistry, hubMessageId: string): Promise<SentRecord> {
  const record = await registry.get(hubMessageId);
  if (!record) throw new DeliveryPendingError(hubMessageId, 'unknown');
  if (record.state === 'delivered') return record;
  if (record.state === 'failed') throw new DeliveryFailedError(hubMessageId, record.errorCode);
  throw new DeliveryPendingError(hubMessageId, record.state);
}
