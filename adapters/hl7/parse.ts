import { readDelimiters, readEncodingCharacters } from './delimiters';
import { Hl7ParseError } from './errors';
import { canonicalLineEnding, lineOffset, splitLines, type SegmentLines } from './lines';
import type { Hl7Message, Hl7ParseOptions, Hl7ParseWarning, Hl7Segment, Hl7WarningReason } from './types';

const BOM = 0xfeff;

/**
 * Parse one HL7 v2 message. Segments and fields are split here; components
 * and escape sequences are left for access time (see access.ts), which keeps
 * parsing close to the cost of a plain split and every field's raw text
 * intact for a byte-identical serialize().
 *
 * A leading UTF-8 BOM is accepted and remembered (`bom: true`) so it is
 * written back. Batch files (FHS/BHS) go through parseBatch().
 *
 * @param text - the message, segments ended by CR (LF and CRLF tolerated)
 * @param options - strictness; see Hl7ParseOptions
 * @throws Hl7ParseError EMPTY, MISSING_MSH, BAD_ENCODING_CHARS, TRUNCATED; in strict
 *   mode also BAD_SEGMENT_ID, MULTIPLE_MESSAGES, EMBEDDED_SEGMENT
 */
export function parse(text: string, options: Hl7ParseOptions = {}): Hl7Message {
  const bom = text.charCodeAt(0) === BOM;
  const start = bom ? 1 : 0;
  if (text.length <= start) throw new Hl7ParseError('message is empty', 'EMPTY', { position: 0 });
  const split = splitLines(text, start);
  const message = buildMessage(split, 0, split.lines.length, start);
  if (!options.allowUnterminated) assertTerminated(split, start);
  if (options.strict) throwOnWarning(message, split, 0, start, options.tolerate);
  if (bom) message.bom = true;
  return message;
}

/** @internal The last line must end with a terminator, or the input was cut off. */
export function assertTerminated(split: SegmentLines, start: number): void {
  const last = split.lines.length - 1;
  if (split.terminators[last] !== '') return;
  const id = split.lines[last]!.slice(0, 3);
  throw new Hl7ParseError(`message is truncated: segment index ${last} has no terminator`, 'TRUNCATED', {
    segmentIndex: last,
    ...(isSegmentId(id) ? { segmentName: id } : {}),
    position: lineOffset(split, last + 1, start),
  });
}

/**
 * @internal Build a message from lines [from, to) of a split input. The
 * first line must be MSH. Used by parse() and parseBatch().
 */
export function buildMessage(
  split: SegmentLines,
  from: number,
  to: number,
  start: number,
): Hl7Message {
  const { lines, terminators } = split;
  const first = lines[from]!;
  if (!first.startsWith('MSH')) {
    const id = first.slice(0, 3);
    const hint = id === 'FHS' || id === 'BHS' ? ` (found ${id}: a batch file, use parseBatch)` : '';
    throw new Hl7ParseError(`message does not start with an MSH segment${hint}`, 'MISSING_MSH', {
      segmentIndex: from,
      ...(isSegmentId(id) ? { segmentName: id } : {}),
      position: lineOffset(split, from, start),
    });
  }
  const fieldSep = first.charAt(3);
  const mshFields = fieldSep ? first.split(fieldSep) : [first];
  const { encodingChars, doubledEscape } = readEncodingCharacters(mshFields[1]);
  const delimiters = readDelimiters(fieldSep, encodingChars, versionOf(mshFields, encodingChars), 'MSH', from);

  const embedded = embeddedSegmentPattern(fieldSep);
  const lineEnding = canonicalLineEnding(terminators[from]);
  const segments: Hl7Segment[] = new Array<Hl7Segment>(to - from);
  const warnings: Hl7ParseWarning[] = doubledEscape ? [{ reason: 'DOUBLED_ESCAPE_CHAR', segmentIndex: 0 }] : [];
  for (let i = from; i < to; i++) {
    const fields = i === from ? mshFields : lines[i]!.split(fieldSep);
    const terminator = terminators[i]!;
    segments[i - from] = terminator === lineEnding ? { fields } : { fields, terminator };
    const id = fields[0]!;
    if (!isSegmentId(id)) {
      warnings.push({ reason: 'BAD_SEGMENT_ID', segmentIndex: i - from });
    } else if (id === 'MSH' && i !== from) {
      warnings.push({ reason: 'MULTIPLE_MESSAGES', segmentIndex: i - from });
    } else if (hasBlankLedField(fields) && embedded.test(lines[i]!)) {
      warnings.push({ reason: 'EMBEDDED_SEGMENT', segmentIndex: i - from });
    }
  }
  return { delimiters, lineEnding, segments, warnings };
}

/** @internal Strict mode: the first warning of a message becomes an error. */
export function throwOnWarning(
  message: Hl7Message,
  split: SegmentLines,
  from: number,
  start: number,
  tolerate: readonly Hl7WarningReason[] = [],
): void {
  const w = message.warnings.find((x) => !tolerate.includes(x.reason));
  if (!w) return;
  const id = message.segments[w.segmentIndex]?.fields[0] ?? '';
  throw new Hl7ParseError(WARNING_TEXT[w.reason](w.segmentIndex), w.reason, {
    segmentIndex: w.segmentIndex,
    ...(isSegmentId(id) ? { segmentName: id } : {}),
    position: lineOffset(split, from + w.segmentIndex, start),
  });
}

const WARNING_TEXT: Record<Hl7WarningReason, (index: number) => string> = {
  BAD_SEGMENT_ID: (i) => `segment index ${i} does not start with a valid segment ID`,
  MULTIPLE_MESSAGES: (i) => `segment index ${i} is a second MSH: several messages in one input`,
  EMBEDDED_SEGMENT: (i) => `segment index ${i} contains what looks like another segment (missing terminator)`,
  BATCH_COUNT_MISMATCH: (i) => `batch count in segment index ${i} does not match its content`,
  DOUBLED_ESCAPE_CHAR: (i) => `segment index ${i} has its escape character doubled in the encoding characters`,
};

/**
 * Segment IDs that, preceded by a field separator and whitespace, betray two
 * segments run together on one line (`...| OBX||TX|...`): a lost CR that
 * would otherwise silently hide those segments. Limited to well-known IDs
 * so three-letter data values (`| USA|`) are not flagged.
 */
const COMMON_SEGMENT_IDS =
  'MSH|MSA|ERR|EVN|PID|PD1|PV1|PV2|NK1|MRG|AL1|DG1|PR1|GT1|IN1|IN2|IN3|ORC|OBR|OBX|NTE|SPM|TQ1|TQ2|FT1|TXA|SCH|RGS|AIS|AIG|AIL|AIP|RXA|RXE|RXO|RXR|SFT|PRT|CON|BLG';
const embeddedPatterns = new Map<string, RegExp>();

function embeddedSegmentPattern(fieldSep: string): RegExp {
  let re = embeddedPatterns.get(fieldSep);
  if (!re) {
    const sep = fieldSep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    re = new RegExp(`${sep}[ \\t]+(?:${COMMON_SEGMENT_IDS})${sep}`);
    embeddedPatterns.set(fieldSep, re);
  }
  return re;
}

/** Cheap pre-check for the embedded-segment pattern: only a field starting with whitespace can hide one. */
function hasBlankLedField(fields: string[]): boolean {
  for (let i = 1; i < fields.length; i++) {
    const c = fields[i]!.charCodeAt(0);
    if (c === 32 || c === 9) return true;
  }
  return false;
}

/** MSH-12.1, read before the delimiters are validated (only needed for a fifth MSH-2 character). */
function versionOf(mshFields: string[], encodingChars: string | undefined): string | undefined {
  if (encodingChars?.length !== 5) return undefined;
  const raw = mshFields[11];
  if (raw === undefined) return undefined;
  const cut = raw.indexOf(encodingChars[0]!);
  return cut < 0 ? raw : raw.slice(0, cut);
}

/** Three upper-case letters or digits, starting with a letter (v2.5.1 §2.5.2). */
export function isSegmentId(id: string): boolean {
  if (id.length !== 3) return false;
  const a = id.charCodeAt(0);
  const b = id.charCodeAt(1);
  const c = id.charCodeAt(2);
  return a >= 65 && a <= 90 && isUpperOrDigit(b) && isUpperOrDigit(c);
}

function isUpperOrDigit(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 48 && c <= 57);
}
