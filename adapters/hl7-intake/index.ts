/**
 * Inbound HL7 v2 intake: store every payload, hand accepted messages to the
 * flow, and answer the sender (original or enhanced acknowledgment) per the
 * listener's ack mode. Plain TypeScript; never imports node-red.
 */
export { Hl7Intake } from './hl7-intake';
export { AckWriter, commitCode } from './ack-writer';
export { DuplicateIndex, type DuplicateClaim, type DuplicateTicket } from './duplicate-index';
export { Hl7AckNotPendingError, Hl7IntakeConfigError } from './errors';
export { commitAckWanted, readHeader, salvageHeader, type AckCondition, type SalvagedHeader } from './header';
export {
  ACK_MODES,
  DUPLICATE_INDEX_MAX,
  INTAKE_CLOSE_TIMEOUT_MS,
  PROCESSING_TIMEOUT_MS,
  type AckMode,
  type Clock,
  type CompletionResult,
  type DeliveryAck,
  type Hl7IntakeDeps,
  type Hl7IntakeOptions,
  type IntakeConnection,
  type IntakeConsumer,
  type IntakeDelivery,
  type IntakeInfo,
  type RespondOutcome,
  type TimerHandle,
} from './types';
