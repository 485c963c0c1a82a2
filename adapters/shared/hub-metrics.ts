/**
 * What flows report for the monitor and Prometheus. Labels are endpoint names,
 * message types and error codes only: never anything from a message body.
 */
export type MessageOutcome = 'received' | 'sent' | 'queued' | 'filtered' | 'errored';

export interface HubMetrics {
  /** One message moved to `outcome` at `endpoint`. */
  message(endpoint: string, outcome: MessageOutcome, messageType?: string | null): void;
  /** Time from receipt to the ACK going out (inbound) or coming back (outbound). */
  ackLatency(endpoint: string, seconds: number): void;
  /** Time a flow step took with a message. */
  processing(endpoint: string, seconds: number): void;
  /** Current open connections of a listener or sender. */
  connections(endpoint: string, open: number): void;
}

const noop = (): void => undefined;
export const noopMetrics: HubMetrics = { message: noop, ackLatency: noop, processing: noop, connections: noop };
