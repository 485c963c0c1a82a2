import { formatPath, get, getAll, segmentGet, segmentGetRaw, type Hl7Message, type Hl7Path, type Hl7Segment } from '../hl7';

/** MSA-1: original mode (table 0008) AA/AE/AR, enhanced mode commit ACKs CA/CE/CR. */
export const ACK_CODES = ['AA', 'AE', 'AR', 'CA', 'CE', 'CR'] as const;
export type AckCodeValue = (typeof ACK_CODES)[number];

/**
 * One ERR segment reduced to identifiers: codes and where the receiver found
 * the problem. Free text (ERR-8, ERR-7) is not part of it.
 */
export interface Hl7AckErrorDetail {
  /** ERR-3.1 (table 0357, e.g. `101`), or for v2.1-2.4 the code in ERR-1.4. */
  code?: string;
  /** ERR-3.3 (or ERR-1.4.3), e.g. `HL70357`. */
  codeSystem?: string;
  /** ERR-4 (table 0516): E, W, I or F. */
  severity?: string;
  /** ERR-2 (or ERR-1) as a path, e.g. `PID-5[1].1`. */
  location?: string;
  /** ERR-5.1, the receiver's own error code. */
  applicationCode?: string;
}

/** What an acknowledgment says, as read from its MSA and ERR segments. */
export interface Hl7AckReading {
  /** MSA-1 when it is a known code; see `rawAckCode` otherwise. */
  ackCode: AckCodeValue | undefined;
  /** MSA-1 as sent, trimmed, for diagnostics (only when it is code-like). */
  rawAckCode: string | undefined;
  /** MSA-2: the MSH-10 this ACK answers. Undefined without an MSA. */
  acknowledgedId: string | undefined;
  /** MSH-10 of the ACK itself. */
  ackControlId: string;
  hasMsa: boolean;
  errors: Hl7AckErrorDetail[];
  /** ERR-8 of each ERR that has one. May echo PHI. */
  userMessages: string[];
  /** MSA-3. May echo PHI. */
  text: string | undefined;
}

const SEGMENT_ID = /^[A-Z][A-Z0-9]{2}$/;
const CODE = /^[\w.-]{1,20}$/;
const INDEX = /^\d{1,4}$/;

/**
 * Read the MSA and ERR segments of a parsed acknowledgment. Both ERR layouts
 * are understood: v2.5+ (ERR-2 location, ERR-3 code, ERR-4 severity) and the
 * older ERR-1 "error code and location" (segment^sequence^field^code&text&table),
 * which may repeat.
 *
 * @param ack - the parsed response
 */
export function readAck(ack: Hl7Message): Hl7AckReading {
  const msa = getAll(ack, 'MSA')[0];
  const rawCode = msa ? (segmentGet(ack, msa, '1') ?? '').trim().toUpperCase() : undefined;
  const ackCode = ACK_CODES.find((c) => c === rawCode);
  const errors: Hl7AckErrorDetail[] = [];
  const userMessages: string[] = [];
  for (const err of getAll(ack, 'ERR')) {
    errors.push(...readErr(ack, err));
    const userMessage = segmentGet(ack, err, '8');
    if (userMessage) userMessages.push(userMessage);
  }
  const text = msa ? segmentGet(ack, msa, '3') || undefined : undefined;
  return {
    ackCode,
    rawAckCode: rawCode !== undefined && CODE.test(rawCode) ? rawCode : undefined,
    acknowledgedId: msa ? (segmentGet(ack, msa, '2') ?? '').trim() : undefined,
    ackControlId: (get(ack, 'MSH-10') ?? '').trim(),
    hasMsa: msa !== undefined,
    errors,
    userMessages,
    text,
  };
}

function readErr(ack: Hl7Message, err: Hl7Segment): Hl7AckErrorDetail[] {
  const v25: Hl7AckErrorDetail = {};
  setIf(v25, 'code', code(segmentGet(ack, err, '3.1')));
  setIf(v25, 'codeSystem', code(segmentGet(ack, err, '3.3')));
  setIf(v25, 'severity', code(segmentGet(ack, err, '4')));
  setIf(v25, 'applicationCode', code(segmentGet(ack, err, '5.1')));
  setIf(v25, 'location', location(ack, err, '2[1]', 5));
  if (v25.code !== undefined || v25.location !== undefined) return [v25];

  // Before v2.5 everything sat in ERR-1, one repetition per error.
  const legacy: Hl7AckErrorDetail[] = [];
  const raw = segmentGetRaw(ack, err, '1') ?? '';
  const repetitions = raw === '' ? 0 : raw.split(ack.delimiters.repetition).length;
  for (let r = 1; r <= repetitions; r++) {
    const detail: Hl7AckErrorDetail = {};
    setIf(detail, 'location', location(ack, err, `1[${r}]`, 2));
    setIf(detail, 'code', code(segmentGet(ack, err, `1[${r}].4.1`)));
    setIf(detail, 'codeSystem', code(segmentGet(ack, err, `1[${r}].4.3`)));
    if (Object.keys(detail).length > 0) legacy.push(detail);
  }
  if (legacy.length > 0) {
    for (const detail of legacy) {
      setIf(detail, 'severity', v25.severity);
      setIf(detail, 'applicationCode', v25.applicationCode);
    }
    return legacy;
  }
  return Object.keys(v25).length > 0 ? [v25] : [];
}

/**
 * ERL (ERR-2) and the first three components of ELD (ERR-1) share their
 * layout: segment ID, then the 1-based indexes. `indexes` is how many
 * index components the type has after the segment ID.
 */
function location(ack: Hl7Message, err: Hl7Segment, field: string, indexes: number): string | undefined {
  const segment = segmentGet(ack, err, `${field}.1`)?.trim();
  if (!segment || !SEGMENT_ID.test(segment)) return undefined;
  const path: Hl7Path = { segment };
  const parts: Array<[keyof Hl7Path, string]> = [
    ['segmentRepeat', '2'],
    ['field', '3'],
    ['repetition', '4'],
    ['component', '5'],
    ['subcomponent', '6'],
  ];
  for (const [key, component] of parts.slice(0, indexes)) {
    const value = segmentGet(ack, err, `${field}.${component}`)?.trim();
    if (!value || !INDEX.test(value) || Number(value) < 1) break;
    // `PID-5`, not `PID[1]-5`: the first occurrence is the default.
    if (key === 'segmentRepeat' && value === '1') continue;
    (path as unknown as Record<string, number>)[key] = Number(value);
  }
  return formatPath(path);
}

function code(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed && CODE.test(trimmed) ? trimmed : undefined;
}

function setIf<K extends keyof Hl7AckErrorDetail>(target: Hl7AckErrorDetail, key: K, value: Hl7AckErrorDetail[K] | undefined): void {
  if (value !== undefined && target[key] === undefined) target[key] = value;
}
