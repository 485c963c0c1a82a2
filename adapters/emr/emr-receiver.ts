import { IntegrationError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import { silentLogger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import { EmrEventError, WebhookVerificationError } from './errors';
import { parseEmrEvent } from './emr-events';
import type { EmrEvent } from './emr-events';
import type { HeaderMap, WebhookVerifier } from './webhook-verifier';

export interface EmrReceiveResult {
  /** HTTP status to answer with. */
  status: number;
  body: { ok: boolean; eventId?: string; error?: string };
  event?: EmrEvent;
}

/**
 * The emr-in endpoint's logic: verify, parse, store, and only then say 202.
 * The EMR retries anything that is not 2xx, so an event is never lost
 * between our answer and our store; a failed store releases the replay
 * reservation so that retry is accepted.
 */
export class EmrEventReceiver {
  private readonly logger: Logger;

  constructor(
    private readonly verifier: WebhookVerifier,
    deps: { logger?: Logger } = {},
  ) {
    this.logger = deps.logger ?? silentLogger;
  }

  /**
   * @param request - raw body bytes and headers as received
   * @param persist - durable store of the event (e.g. the hub's message store); must resolve only once durable
   */
  async receive(request: { rawBody: Buffer; headers: HeaderMap }, persist: (event: EmrEvent, rawBody: Buffer) => Promise<void>): Promise<EmrReceiveResult> {
    let verified;
    try {
      verified = this.verifier.verify(request.rawBody, request.headers);
    } catch (err) {
      const reason = err instanceof WebhookVerificationError ? err.reason : 'error';
      this.logger.warn('emr event rejected', { reason, bytes: request.rawBody.length });
      // 409 for a replay: the request itself is authentic, it was just already accepted.
      return { status: reason === 'replayed' ? 409 : 401, body: { ok: false, error: reason } };
    }
    let event: EmrEvent;
    try {
      event = parseEmrEvent(request.rawBody);
    } catch (err) {
      this.verifier.release(verified);
      const field = err instanceof EmrEventError ? err.field : undefined;
      this.logger.warn('emr event invalid', { field, bytes: request.rawBody.length });
      return { status: 400, body: { ok: false, error: 'invalid-event' } };
    }
    try {
      await persist(event, request.rawBody);
    } catch (err) {
      this.verifier.release(verified);
      this.logger.error('emr event not stored', { type: event.type, controlId: event.id, ...summarizeError(err) });
      const retryable = !(err instanceof IntegrationError) || err.retryable;
      return { status: retryable ? 503 : 500, body: { ok: false, eventId: event.id, error: 'store-failed' } };
    }
    this.logger.info('emr event stored', { type: event.type, controlId: event.id, bytes: request.rawBody.length });
    return { status: 202, body: { ok: true, eventId: event.id }, event };
  }
}
