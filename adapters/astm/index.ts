/**
 * ASTM for the lab analyzers: E1381 (CLSI LIS1-A) low-level protocol,
 * E1394 (CLSI LIS2-A2) records, TCP transports, normalization to canonical
 * lab results with FHIR R4 and HL7 ORU^R01 output, and host queries.
 * Plain TypeScript; never imports node-red. See README.md.
 */

// Transports: what astm-in / astm-out nodes use.
export { AstmServer, DEFAULT_HOST } from './astm-server';
export type { AstmServerDeps, AstmServerEvents, AstmServerOptions } from './astm-server';
export { AstmClient, CONNECT_TIMEOUT_MS } from './astm-client';
export type { AstmClientDeps, AstmClientEvents, AstmClientOptions } from './astm-client';
export { AstmSerial, DEFAULT_BAUD_RATE, MAX_BAUD_RATE, MIN_BAUD_RATE } from './astm-serial';
export type { AstmSerialDeps, AstmSerialEvents, AstmSerialOptions, SerialParity, SerialPortSettings } from './astm-serial';
export { AstmConnection, CLOSE_TIMEOUT_MS, MAX_MESSAGE_BYTES } from './astm-connection';
export type {
  AstmConnectionDeps,
  AstmConnectionEvents,
  AstmConnectionInfo,
  AstmConnectionOptions,
  AstmFraming,
  AstmMessageHandler,
  AstmQueryHandler,
  AstmReceivedMessage,
  AstmSendReport,
  AstmSessionInfo,
} from './astm-connection';
export type { ReconnectOptions } from './reconnect-backoff';

// E1381 link layer.
export {
  BUSY_RETRY_MS,
  CONTENTION_RETRY_MS,
  CONTENTION_WAIT_MS,
  E1381Link,
  ESTABLISH_TIMEOUT_MS,
  MAX_ESTABLISH_ATTEMPTS,
  MAX_FRAME_ATTEMPTS,
  RECEIVER_TIMEOUT_MS,
  REPLY_TIMEOUT_MS,
} from './e1381-link';
export type { E1381LinkDeps, E1381LinkEvents, E1381LinkOptions, E1381LinkStats, E1381Role, FrameAcceptor, ReceiveEndReason, TransmitReport } from './e1381-link';
export { ACK, ENQ, EOT, ETB, ETX, MAX_FRAME_BYTES, MAX_FRAME_TEXT_BYTES, NAK, STX } from './control-characters';
export { frameChecksum } from './checksum';
export { encodeFrame, frameMessages } from './frame-encoder';
export type { OutboundFrame } from './frame-encoder';
export { FrameDecoder, MAX_RECEIVE_FRAME_BYTES } from './frame-decoder';
export type { LinkToken, ReceivedFrame } from './frame-decoder';
export { splitCapture } from './capture';
export type { CaptureFrame } from './capture';

// E1394 records and messages.
export { DEFAULT_DELIMITERS, delimitersFromHeader } from './delimiters';
export type { AstmDelimiters } from './delimiters';
export { decodeEscapes, encodeEscapes } from './escape';
export { fieldRepeats, fieldText, fieldValue, rawField, splitRecord } from './record';
export type { AstmRecord } from './record';
export type { AstmMessage, AstmMessageWarning, AstmOrderGroup, AstmPatientGroup, AstmQueryGroup, AstmResultGroup } from './message';
export { buildMessage, parseRecordStream } from './message-parser';
export { decodeText, encodeText } from './text-encoding';
export type { AstmStreamParseResult } from './message-parser';
export { buildRecord, encodeField, serializeMessage, serializeRecord, serializeRecords } from './serialize';
export type { AstmFieldInput } from './serialize';
export { MessageAssembler } from './message-assembler';
export type { AssembledMessage } from './message-assembler';
export { DUPLICATE_WINDOW_MS, MessageDeduper } from './message-deduper';
export type { AstmEncoding } from './text-encoding';
export { astmToIso, formatAstmTimestamp } from './astm-time';

// Host query and orders.
export { parseQuery } from './query';
export type { AstmHostQuery, AstmQueryParseOptions } from './query';
export { buildOrderMessage, buildOrderRecords, buildQueryResponse } from './order-message';
export type { AstmOrderInput, AstmOrderMessageOptions, AstmPatientInput, AstmQueryResponseOptions } from './order-message';

// Normalization and output.
export { validateProfile } from './instrument-profile';
export type { FieldRef, InstrumentProfile, QcRules, TestMapping } from './instrument-profile';
export type { LabPatient, LabResult, LabResultStatus, QcReason } from './lab-result';
export type { Dilution, LabValue, ReferenceRange } from './result-value';
export { parseDilution, parseReferenceRange, parseValue } from './result-value';
export { detectQc } from './qc-detection';
export { normalizeMessage } from './normalize';
export type { NormalizedResults } from './normalize';
export { groupBySpecimen, toFhirBundle, toFhirObservation } from './fhir';
export type { FhirBundle, FhirDiagnosticReport, FhirObservation, FhirOptions } from './fhir';
export { isoToHl7, toOruR01 } from './oru';
export type { OruOptions } from './oru';

// Errors.
export {
  AstmClosedError,
  AstmConfigError,
  AstmEncodeError,
  AstmFrameError,
  AstmHandlerError,
  AstmIncompleteMessageError,
  AstmParseError,
  AstmQcRoutingError,
  AstmRejectedError,
  AstmTimeoutError,
  AstmUnitMismatchError,
  AstmUnmappedTestError,
} from './errors';
export type { AstmFrameErrorKind, AstmIncompleteReason, AstmParseErrorReason, AstmSendPhase, AstmSendProgress } from './errors';

// Test doubles and seams.
export { ManualTimers } from './manual-timers';
export { duplexPair } from './memory-duplex';
export { systemClock, systemTimers } from './timers';
export type { Clock, Timers } from './timers';
