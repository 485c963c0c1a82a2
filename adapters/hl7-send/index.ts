/**
 * Outbound HL7 v2 over MLLP: a pool of MllpClient connections, MSA-2/MSH-10
 * pairing checks, ACK interpretation into typed errors, and the store
 * journal for outbound messages and their ACKs. Plain TypeScript; never
 * imports node-red.
 */
export { Hl7Sender } from './hl7-sender';
export type { Hl7SendOptions, Hl7SendResult, Hl7SenderDeps, Hl7SenderEvents, Hl7SenderOptions } from './hl7-sender';
export { prepareOutbound, isHl7Message } from './prepare';
export { hl7Parties } from './header-parties';
export type { Hl7Outbound, PrepareOptions, PreparedHl7Message } from './prepare';
export { ACK_CODES, readAck } from './ack-reader';
export type { AckCodeValue, Hl7AckErrorDetail, Hl7AckReading } from './ack-reader';
export { MAX_CONNECTIONS } from './connection-pool';
export type { ConnectionState, PoolState } from './connection-pool';
export { Hl7AckParseError, Hl7NackError, Hl7OutboundError, Hl7StaleAckError, responseOf } from './errors';
export type { Hl7AckParseReason, Hl7OutboundErrorReason } from './errors';
export { HL7_CONTENT_TYPE, OutboundJournal } from './outbound-journal';
export type { OutboundJournalOptions } from './outbound-journal';
