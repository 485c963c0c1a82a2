import { randomBytes } from 'node:crypto';
import { get, getRaw } from './access';
import { decodeHl7Buffer } from './charset';
import { DEFAULT_DELIMITERS, encodingCharacters, readDelimiters } from './delimiters';
import { errorCodeForParseFailure, HL7_ERROR_CODES, type Hl7ErrorCode } from './error-codes';
import { Hl7ParseError } from './errors';
import { encodeEscapes } from './escape';
import { parse } from './parse';
import { parsePath, type Hl7Path } from './path';
import type { Hl7Delimiters, Hl7Message, Hl7Segment } from './types';
import { versionAtLeast } from './version';

/** Original-mode acknowledgment codes (table 0008). */
export type AckCode = 'AA' | 'AE' | 'AR';

/** Table 0516: Error, Warning, Information, Fatal (F from v2.6). */
export type AckSeverity = 'E' | 'W' | 'I' | 'F';

export interface AckError {
  /** Table 0357 code (ERR-3), e.g. 101 "Required field missing"; other numbers are sent without text. */
  code: Hl7ErrorCode | number;
  /** ERR-4; default `E`. */
  severity?: AckSeverity;
  /** ERR-8 User Message. It goes back to the sender, so say what is wrong, not what the data was. */
  text?: string;
  /** ERR-2 Error Location, as a path (`PID-5[1].1`) or parsed path. */
  location?: string | Hl7Path;
  /** ERR-7 Diagnostic Information, for the sender's support staff. */
  diagnostics?: string;
}

export interface AckOptions {
  /** MSH-10 of the ACK. Default: 20 random hex characters (fits the v2.5 20-character limit). */
  controlId?: string;
  /** MSH-7 of the ACK. Default: now. */
  now?: Date;
  /** ERR segments, one per entry. */
  errors?: readonly AckError[];
  /** MSA-3 Text Message (deprecated in v2.5 but still read by older receivers). */
  text?: string;
  /** MSH-3 of the ACK as encoded HD text; default: the original's MSH-5. */
  sendingApplication?: string;
  /** MSH-4 of the ACK as encoded HD text; default: the original's MSH-6. */
  sendingFacility?: string;
}

/**
 * Build an original-mode acknowledgment for a parsed message: MSH with
 * sender and receiver swapped, MSA (MSA-2 = the original MSH-10) and one ERR
 * per error in the v2.5 layout (ERR-2 location, ERR-3 table 0357 code,
 * ERR-4 severity). For originals before v2.5 ERR-1 is filled as well, which
 * is the only ERR field those receivers know.
 *
 * The ACK uses the original's delimiters, version, processing ID and
 * character set, so it can be encoded the same way the original was.
 *
 * @param original - the message being acknowledged
 * @param code - AA accept, AE error, AR reject
 * @param options - control ID and clock (inject for tests), errors, texts
 */
export function buildAck(original: Hl7Message, code: AckCode, options: AckOptions = {}): Hl7Message {
  const d = original.delimiters;
  const version = get(original, 'MSH-12.1') || undefined;
  const trigger = get(original, 'MSH-9.2') ?? '';

  const msh: string[] = ['MSH', original.segments[0]?.fields[1] ?? encodingCharacters(d)];
  msh[2] = options.sendingApplication ?? getRaw(original, 'MSH-5') ?? '';
  msh[3] = options.sendingFacility ?? getRaw(original, 'MSH-6') ?? '';
  msh[4] = getRaw(original, 'MSH-3') ?? '';
  msh[5] = getRaw(original, 'MSH-4') ?? '';
  msh[6] = formatTimestamp(options.now ?? new Date());
  msh[7] = '';
  msh[8] = ackMessageType(trigger, version, d);
  msh[9] = encodeEscapes(options.controlId ?? randomBytes(10).toString('hex').toUpperCase(), d);
  msh[10] = getRaw(original, 'MSH-11') || 'P';
  msh[11] = getRaw(original, 'MSH-12') || '2.5.1';
  const charset = getRaw(original, 'MSH-18');
  if (charset) {
    for (let i = 12; i < 17; i++) msh[i] = '';
    msh[17] = charset;
  }

  const msa = ['MSA', code, getRaw(original, 'MSH-10') ?? ''];
  if (options.text !== undefined) msa.push(encodeEscapes(options.text, d));

  const legacyErr = version !== undefined && !versionAtLeast(version, '2.5');
  const segments: Hl7Segment[] = [{ fields: msh }, { fields: msa }];
  for (const error of options.errors ?? []) segments.push({ fields: errSegment(error, d, legacyErr) });
  return { delimiters: { ...d }, lineEnding: '\r', segments, warnings: [] };
}

/**
 * Best-effort ACK for input that could not be parsed: whatever MSH fields
 * can be read (sender, receiver, MSH-10, version) are used; when MSH-2 is
 * unusable the default delimiters are used and the values re-escaped.
 * Without explicit `errors`, one ERR is derived from `error`: an
 * Hl7ParseError contributes its code mapping and message (which names
 * identifiers only); any other error only "207 Application internal error".
 *
 * @param raw - the input as received (text, or bytes decoded per MSH-18 when possible)
 * @param code - AR (default: the message itself is unacceptable) or AE
 * @param options - as for buildAck, plus the error that stopped parsing
 */
export function buildAckFromRaw(
  raw: string | Uint8Array,
  code: Exclude<AckCode, 'AA'> = 'AR',
  options: AckOptions & { error?: unknown } = {},
): Hl7Message {
  const text = typeof raw === 'string' ? raw : decodeLeniently(raw);
  const errors = options.errors ?? [ackErrorFor(options.error)];
  let original: Hl7Message;
  try {
    // A message that only lacks its final terminator is otherwise readable.
    original = parse(text, { allowUnterminated: true });
  } catch {
    original = salvageHeader(text);
  }
  return buildAck(original, code, { ...options, errors });
}

/**
 * The ERR entry describing a failure, without leaking its message unless it
 * is one of ours (whose messages name identifiers only).
 *
 * @param error - what was thrown
 */
export function ackErrorFor(error: unknown): AckError {
  if (error instanceof Hl7ParseError) {
    const ack: AckError = { code: errorCodeForParseFailure(error.reason), text: error.message };
    if (error.reason === 'BAD_ENCODING_CHARS') ack.location = { segment: 'MSH', field: 2 };
    else if (error.reason === 'MISSING_MSH') ack.location = { segment: 'MSH' };
    return ack;
  }
  return { code: 207 };
}

function decodeLeniently(bytes: Uint8Array): string {
  try {
    return decodeHl7Buffer(bytes);
  } catch {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  }
}

/** Rebuild just enough of an MSH from unparseable text for buildAck(). */
function salvageHeader(text: string): Hl7Message {
  let d: Hl7Delimiters = { ...DEFAULT_DELIMITERS };
  let parts: string[] = [];
  let sameDelimiters = false;
  const line = findMshLine(text);
  if (line !== undefined) {
    const sep = line.charAt(3);
    parts = sep ? line.split(sep) : [line];
    try {
      // Only the four classic characters: a stray fifth one should not stop the ACK.
      d = readDelimiters(sep, (parts[1] ?? '').slice(0, 4), undefined, 'MSH', 0);
      sameDelimiters = true;
    } catch {
      d = { ...DEFAULT_DELIMITERS };
    }
  }
  const originalComponent = parts[1]?.charAt(0) || '^';
  const value = (n: number): string => {
    const v = parts[n - 1] ?? '';
    if (sameDelimiters) return v;
    // The delimiters changed: keep the component structure, escape the rest.
    return v
      .split(originalComponent)
      .map((c) => encodeEscapes(c, d))
      .join(d.component);
  };
  const fields = ['MSH', encodingCharacters(d)];
  for (let n = 3; n <= 12; n++) fields.push(n === 7 || n === 8 ? '' : value(n));
  return { delimiters: d, lineEnding: '\r', segments: [{ fields }], warnings: [] };
}

/** The first line starting with MSH (normally the first line, after a BOM). */
function findMshLine(text: string): string | undefined {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let at = start;
  if (!text.startsWith('MSH', start)) {
    const found = text.search(/[\r\n]MSH/);
    if (found < 0) return undefined;
    at = found + 1;
  }
  const rest = text.slice(at);
  const end = rest.search(/[\r\n]/);
  return end < 0 ? rest : rest.slice(0, end);
}

function ackMessageType(trigger: string, version: string | undefined, d: Hl7Delimiters): string {
  if (!trigger || (version && !versionAtLeast(version, '2.2'))) return 'ACK';
  const event = encodeEscapes(trigger, d);
  // MSH-9.3 (message structure) exists from v2.3.1; assume it when the version is unknown.
  if (version && !versionAtLeast(version, '2.3.1')) return `ACK${d.component}${event}`;
  return `ACK${d.component}${event}${d.component}ACK`;
}

function errSegment(error: AckError, d: Hl7Delimiters, legacy: boolean): string[] {
  const c = d.component;
  const codeText = (HL7_ERROR_CODES as Record<number, string | undefined>)[Number(error.code)] ?? '';
  const codeCwe = [String(error.code), encodeEscapes(codeText, d), 'HL70357'].join(c);
  const location = typeof error.location === 'string' ? parsePath(error.location) : error.location;
  const fields = ['ERR', '', '', codeCwe, error.severity ?? 'E', '', '', '', ''];
  if (location) {
    fields[2] = trimTrailing(
      [
        location.segment,
        String(location.segmentRepeat ?? 1),
        optional(location.field),
        optional(location.repetition ?? (location.field !== undefined ? 1 : undefined)),
        optional(location.component),
        optional(location.subcomponent),
      ],
      c,
    );
  }
  if (legacy) {
    // v2.1-2.4 ERR-1 (ELD): segment^sequence^field^code&text&table.
    const sub = d.subcomponent;
    fields[1] = [
      location?.segment ?? '',
      location ? String(location.segmentRepeat ?? 1) : '',
      optional(location?.field),
      [String(error.code), encodeEscapes(codeText, d), 'HL70357'].join(sub),
    ].join(c);
  }
  if (error.diagnostics !== undefined) fields[7] = encodeEscapes(error.diagnostics, d);
  if (error.text !== undefined) fields[8] = encodeEscapes(error.text, d);
  while (fields.length > 5 && fields[fields.length - 1] === '') fields.pop();
  return fields;
}

function optional(n: number | undefined): string {
  return n === undefined ? '' : String(n);
}

function trimTrailing(parts: string[], sep: string): string {
  while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  return parts.join(sep);
}

/** HL7 TS/DTM in UTC with an explicit offset, so the value is unambiguous. */
export function formatTimestamp(now: Date): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    p(now.getUTCFullYear(), 4) +
    p(now.getUTCMonth() + 1) +
    p(now.getUTCDate()) +
    p(now.getUTCHours()) +
    p(now.getUTCMinutes()) +
    p(now.getUTCSeconds()) +
    '+0000'
  );
}
