import type { OutboundState } from '../phi-guard/sent-registry';

/**
 * Twilio message statuses onto the hub's delivery states. `read` (WhatsApp)
 * counts as delivered; `canceled` (a scheduled message) as failed, since it
 * will never arrive. Inbound statuses (`receiving`, `received`) are not ours.
 * @param status - Twilio's MessageStatus
 */
export function deliveryStateOf(status: string): OutboundState | null {
  switch (status) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
      return 'accepted';
    case 'sending':
    case 'sent':
      return 'sent';
    case 'delivered':
    case 'read':
    case 'partially_delivered':
      return 'delivered';
    case 'undelivered':
    case 'failed':
    case 'canceled':
      return 'failed';
    default:
      return null;
  }
}
