import {
  decodeHl7Buffer,
  encodeHl7Buffer,
  get,
  messageInfo,
  parse,
  readCharsetLabel,
  serialize,
  type Hl7Message,
} from '../hl7';
import { Hl7OutboundError } from './errors';
import { hl7Parties } from './header-parties';

/** What the sender accepts: HL7 text, encoded bytes, or a parsed message. */
export type Hl7Outbound = string | Buffer | Hl7Message;

/**
 * A message ready for the wire, with the identifiers the sender and the
 * message store need. `bytes` and `patientId` are PHI: never log them.
 */
export interface PreparedHl7Message {
  /** MSH-10: the ACK's MSA-2 must match it. */
  controlId: string;
  /** MSH-9.1^MSH-9.2, e.g. `ORU^R01`. */
  messageType: string;
  /** `app^facility` of MSH-3/4 and MSH-5/6 (see hl7Parties). */
  sender: string;
  receiver: string;
  /** PID-3[1].1, when the message has a PID. */
  patientId: string | undefined;
  /** MSH-18 as written, when present; ACKs without one are decoded with it. */
  charset: string | undefined;
  /** Exactly what goes into the MLLP frame. */
  bytes: Buffer;
}

export interface PrepareOptions {
  /**
   * Rewrite segment terminators to CR (default true). HL7 v2 (2.x §2.5.1)
   * ends every segment with CR only; text typed into a flow editor or read
   * from a file often has LF or CRLF, or no terminator on the last segment,
   * and strict receivers reject those. Bytes (Buffer input) are never rewritten.
   */
  normalizeLineEndings?: boolean;
  /** MSH-18 assumed when the message has none. Default `UNICODE UTF-8`. */
  defaultCharset?: string;
}

/**
 * Parse (as far as needed), normalize and encode an outbound message per its
 * MSH-18. Throws Hl7ParseError / Hl7EncodeError (code PARSE, not retryable)
 * for a message that cannot be sent, and Hl7OutboundError when MSH-10 is
 * empty, since its ACK could then not be told apart from a stale one.
 *
 * @param input - HL7 text, bytes (sent unchanged) or a parsed message (not modified)
 * @param options - line-ending normalization and default charset
 */
export function prepareOutbound(input: Hl7Outbound, options: PrepareOptions = {}): PreparedHl7Message {
  const charsetOptions = options.defaultCharset ? { defaultCharset: options.defaultCharset } : {};
  let message: Hl7Message;
  let bytes: Buffer;
  if (Buffer.isBuffer(input)) {
    message = parse(decodeHl7Buffer(input, charsetOptions), { allowUnterminated: true });
    bytes = input;
  } else {
    if (typeof input === 'string') message = parse(input, { allowUnterminated: true });
    else if (isHl7Message(input)) message = input;
    else throw new Hl7OutboundError('outbound message is not HL7 text, bytes or a parsed HL7 message', 'NOT_A_MESSAGE');
    const text = options.normalizeLineEndings === false && typeof input === 'string' ? input : serialize(withCrTerminators(message));
    bytes = encodeHl7Buffer(text, charsetOptions);
  }
  if ((message.warnings ?? []).some((w) => w.reason === 'MULTIPLE_MESSAGES')) {
    throw new Hl7OutboundError('outbound text holds more than one MSH; send batch members one by one', 'MULTIPLE_MESSAGES');
  }
  const info = messageInfo(message);
  const controlId = info.controlId.trim();
  if (!controlId) throw new Hl7OutboundError('outbound message has no control ID (MSH-10)', 'NO_CONTROL_ID');
  return {
    controlId,
    messageType: info.messageType,
    ...hl7Parties(message),
    patientId: get(message, 'PID-3[1].1') || undefined,
    charset: readCharsetLabel(bytes),
    bytes,
  };
}

/** A structural check: enough to serialize, not a validation of the content. */
export function isHl7Message(value: unknown): value is Hl7Message {
  if (value === null || typeof value !== 'object') return false;
  const m = value as Partial<Hl7Message>;
  return (
    Array.isArray(m.segments) &&
    m.segments.length > 0 &&
    m.segments.every((s) => s !== null && typeof s === 'object' && Array.isArray(s.fields) && s.fields.every((f) => typeof f === 'string')) &&
    typeof m.lineEnding === 'string' &&
    m.delimiters !== null &&
    typeof m.delimiters === 'object' &&
    typeof m.delimiters.field === 'string' &&
    m.segments[0]?.fields[0] === 'MSH'
  );
}

/** A copy whose segments all end with CR, blank lines dropped. */
function withCrTerminators(message: Hl7Message): Hl7Message {
  return { ...message, lineEnding: '\r', segments: message.segments.map((s) => ({ fields: s.fields })) };
}
