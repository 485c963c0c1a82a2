/**
 * HL7 v2 message model: lossless parse/serialize, path access, escapes,
 * batches, MSH-18 character sets, field names and ACK building.
 * Plain TypeScript; never imports node-red.
 */
export type {
  Hl7Delimiters,
  Hl7DelimiterContext,
  Hl7Message,
  Hl7ParseOptions,
  Hl7ParseWarning,
  Hl7Segment,
  Hl7WarningReason,
} from './types';
export {
  Hl7EncodeError,
  Hl7ParseError,
  Hl7PathError,
  type Hl7EncodeErrorReason,
  type Hl7ErrorLocation,
  type Hl7ParseErrorReason,
  type Hl7PathErrorReason,
} from './errors';
export { parse } from './parse';
export { serialize } from './serialize';
export { parseBatch, serializeBatch, batchMessages, isBatch, type Hl7Batch, type Hl7BatchGroup } from './batch';
export {
  get,
  getRaw,
  set,
  setRaw,
  getAll,
  getSegment,
  count,
  segmentGet,
  segmentGetRaw,
  segmentSet,
  addSegment,
  removeSegment,
} from './access';
export { parsePath, formatPath, type Hl7Path } from './path';
export { decodeEscapes, encodeEscapes, type HexDecoder } from './escape';
export { DEFAULT_DELIMITERS, encodingCharacters } from './delimiters';
export {
  decodeHl7Buffer,
  encodeHl7Buffer,
  readCharsetLabel,
  isSupportedCharset,
  type Hl7CharsetOptions,
} from './charset';
export { fieldName, describePath, knownSegments } from './field-names';
export {
  buildAck,
  buildAckFromRaw,
  formatTimestamp,
  ackErrorFor,
  type AckCode,
  type AckError,
  type AckOptions,
  type AckSeverity,
} from './ack';
export { HL7_ERROR_CODES, errorCodeForParseFailure, type Hl7ErrorCode } from './error-codes';
export { messageInfo, type Hl7MessageInfo } from './summary';
export { versionAtLeast } from './version';
