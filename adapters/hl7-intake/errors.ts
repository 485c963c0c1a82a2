import { IntegrationError } from '../shared/errors';

/**
 * A flow tried to answer a message whose acknowledgment is not pending: it
 * was answered already (by a timeout, another answer or a shutdown), it is
 * not in flight here at all, or the msg carries no handle (it did not come
 * from mllp-in). Not retryable: the sender has its answer, or never will get
 * one through this msg.
 */
export class Hl7AckNotPendingError extends IntegrationError {
  /**
   * @param outcome - why nothing was sent
   * @param messageId - the hub message id the answer was meant for
   */
  constructor(
    readonly outcome: 'already-answered' | 'unknown' | 'no-handle',
    readonly messageId?: string,
  ) {
    super(MESSAGES[outcome](messageId ?? ''), outcome === 'no-handle' ? 'CONFIG' : 'NOT_FOUND', false);
  }
}

const MESSAGES = {
  'already-answered': (id: string) => `message ${id} was already acknowledged; this answer was not sent`,
  unknown: (id: string) => `no acknowledgment is pending for message ${id}; this answer was not sent`,
  'no-handle': () => 'msg has no acknowledgment handle (msg._hl7ack); only msgs from an mllp-in node can be acknowledged',
};

/** Invalid intake options; raised from the constructor, never at run time. */
export class Hl7IntakeConfigError extends IntegrationError {
  constructor(message: string) {
    super(message, 'CONFIG', false);
  }
}
