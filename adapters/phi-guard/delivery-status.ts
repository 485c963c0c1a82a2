import { MessageNotFoundError } from '../store/errors';
import type { MessageStore } from '../store/types';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { summarizeError } from '../shared/redact';
import type { Channel, OutboundState } from './sent-registry';

/** A delivery report from a provider, already verified and mapped. */
export interface DeliveryUpdate {
  hubMessageId: string;
  channel: Channel;
  state: OutboundState;
  /** The provider's own word for it (`undelivered`, `bounce`, …): an enum value, never free text. */
  providerStatus: string;
  providerId: string | null;
  /** `TWILIO_<code>` or `SENDGRID_<EVENT>` for failures; null otherwise. */
  errorCode: string | null;
  at: Date;
}

/** Where delivery reports go. Called once per state change (never for a repeated or older report). */
export interface DeliveryStatusSink {
  /** @param update - the new delivery state of one hub message */
  record(update: DeliveryUpdate): Promise<void>;
}

export const noopDeliverySink: DeliveryStatusSink = { record: async () => undefined };

/**
 * Writes final delivery states onto the hub message's store record:
 * `delivered` → status `sent`; `failed` → status `error` with the provider's
 * error code. Intermediate states (accepted, sent to carrier) leave the record
 * alone. A record that is gone (pruned, or never stored) is logged and
 * skipped: the provider will not stop reporting, and there is nothing to fix.
 */
export class MessageStoreDeliverySink implements DeliveryStatusSink {
  private readonly logger: Logger;

  /**
   * @param store - the hub's message store (only `update` is used)
   * @param deps - logger
   */
  constructor(
    private readonly store: Pick<MessageStore, 'update'>,
    deps: { logger?: Logger } = {},
  ) {
    this.logger = deps.logger ?? silentLogger;
  }

  async record(update: DeliveryUpdate): Promise<void> {
    if (update.state !== 'delivered' && update.state !== 'failed') return;
    try {
      if (update.state === 'delivered') await this.store.update(update.hubMessageId, { status: 'sent', errorCode: null, errorText: null });
      else
        await this.store.update(update.hubMessageId, {
          status: 'error',
          errorCode: update.errorCode ?? 'UNDELIVERED',
          // Fixed text: a provider's reason (an SMTP answer, a carrier message) can quote the address.
          errorText: `${update.channel} not delivered: ${update.providerStatus}`,
        });
    } catch (err) {
      if (!(err instanceof MessageNotFoundError)) throw err;
      this.logger.warn('delivery report for a message not in the store', { hubMessageId: update.hubMessageId, channel: update.channel, ...summarizeError(err) });
    }
  }
}

/** Several sinks, in order (e.g. the store and a metrics counter). */
export function fanOutDeliverySink(...sinks: DeliveryStatusSink[]): DeliveryStatusSink {
  return {
    async record(update: DeliveryUpdate): Promise<void> {
      for (const s of sinks) await s.record(update);
    },
  };
}
