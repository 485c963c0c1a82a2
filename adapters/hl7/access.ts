import { hexDecoderFor } from './charset';
import { isHeaderSegmentId } from './delimiters';
import { Hl7PathError } from './errors';
import { decodeEscapes, encodeEscapes } from './escape';
import { parseFieldPath, parsePath, type Hl7Path } from './path';
import type { Hl7DelimiterContext, Hl7Delimiters, Hl7Message, Hl7Segment } from './types';

/**
 * Path access. Two families with deliberately different defaults:
 *
 * - get/set work on ONE decoded leaf value. Levels the path leaves out mean
 *   "the first one" (the HAPI Terser convention): `PID-5` is `PID-5[1].1.1`,
 *   the family name. Decoded text only exists for leaves: decoding a whole
 *   composite would make an escaped `\S\` indistinguishable from a real
 *   component separator.
 * - getRaw/setRaw work on the element the path names, at exactly that depth
 *   and still encoded: `getRaw(m, 'MSH-9')` is `ORU^R01^ORU_R01`, and
 *   `getRaw(m, 'PID-3')` holds every repetition.
 *
 * Absent means undefined: a missing segment, or a field/repetition/component
 * beyond what the message carries. Present but empty is `''`. The HL7 null
 * `""` is returned as the two-character string `""`.
 *
 * MSH-1 is the field separator and MSH-2 the encoding characters (same for
 * FHS/BHS); both come back as-is and cannot be set.
 */

/**
 * Decoded value of one leaf.
 *
 * @param message - parsed message
 * @param path - e.g. `PID-5[1].1`, `OBX[2]-5`, `MSH-9.2`
 * @throws Hl7PathError BAD_PATH when the path names no field
 */
export function get(message: Hl7Message, path: string): string | undefined {
  const p = requireField(parsePath(path), path);
  const segment = findSegment(message.segments, p.segment, p.segmentRepeat ?? 1);
  return segment && readLeaf(message, segment, p);
}

/**
 * Encoded text of the element the path names, at exactly the depth given.
 *
 * @param message - parsed message
 * @param path - e.g. `MSH-9`, `PID-3[2]`, `PID-5.1`
 */
export function getRaw(message: Hl7Message, path: string): string | undefined {
  const p = requireField(parsePath(path), path);
  const segment = findSegment(message.segments, p.segment, p.segmentRepeat ?? 1);
  return segment && readRaw(message.delimiters, segment, p, false);
}

/**
 * Set one leaf to a plain value; delimiters in it are escaped. Creates the
 * segment, field, repetition, component and sub-component when missing
 * (a new segment goes after the last one with the same ID, else at the end).
 *
 * @param message - parsed message, modified in place
 * @param path - e.g. `PID-5[1].1`, `OBX[3]-5`, `ZIV-1`
 * @param value - plain text
 * @throws Hl7PathError BAD_PATH, READ_ONLY
 */
export function set(message: Hl7Message, path: string, value: string): void {
  const p = requireField(parsePath(path), path);
  const segment = findOrCreateSegment(message, p.segment, p.segmentRepeat ?? 1, path);
  writeAt(message.delimiters, segment, p, encodeEscapes(value, message.delimiters), true, path);
}

/**
 * Replace the element the path names with already-encoded text (which may
 * contain the delimiters below that level, e.g. `setRaw(m, 'PID-5', 'DOE^JANE')`).
 *
 * @param message - parsed message, modified in place
 * @param path - e.g. `PID-5`, `PID-3[2]`, `OBX-5.1`
 * @param raw - encoded text
 * @throws Hl7PathError BAD_PATH, READ_ONLY, BAD_VALUE (raw contains a delimiter of its own level or above)
 */
export function setRaw(message: Hl7Message, path: string, raw: string): void {
  const p = requireField(parsePath(path), path);
  assertRawFits(message.delimiters, p, raw, path);
  const segment = findOrCreateSegment(message, p.segment, p.segmentRepeat ?? 1, path);
  writeAt(message.delimiters, segment, p, raw, false, path);
}

/**
 * All segments with the given ID, in message order.
 *
 * @param message - parsed message
 * @param segmentId - e.g. `OBX`
 */
export function getAll(message: Hl7Message, segmentId: string): Hl7Segment[] {
  return message.segments.filter((s) => s.fields[0] === segmentId);
}

/**
 * One segment: `getSegment(m, 'OBX[2]')` or `getSegment(m, 'PID')`.
 *
 * @param message - parsed message
 * @param path - segment ID with optional occurrence
 */
export function getSegment(message: Hl7Message, path: string): Hl7Segment | undefined {
  const p = parsePath(path);
  return findSegment(message.segments, p.segment, p.segmentRepeat ?? 1);
}

/**
 * Decoded leaf of a segment you already hold (e.g. from getAll), addressed
 * without the segment ID: `segmentGet(m, obx, '5')`, `segmentGet(m, obx, '3.2')`.
 *
 * @param context - the message (or batch) the segment belongs to, for its delimiters
 * @param segment - the segment
 * @param fieldPath - `F[r].C.S`
 */
export function segmentGet(context: Hl7DelimiterContext, segment: Hl7Segment, fieldPath: string): string | undefined {
  return readLeaf(context, segment, parseFieldPath(segment.fields[0] ?? '', fieldPath));
}

/**
 * Encoded text of an element of a segment you already hold.
 *
 * @param context - the message (or batch) the segment belongs to
 * @param segment - the segment
 * @param fieldPath - `F[r].C.S`
 */
export function segmentGetRaw(
  context: Hl7DelimiterContext,
  segment: Hl7Segment,
  fieldPath: string,
): string | undefined {
  return readRaw(context.delimiters, segment, parseFieldPath(segment.fields[0] ?? '', fieldPath), false);
}

/**
 * Set a decoded leaf of a segment you already hold.
 *
 * @param context - the message the segment belongs to
 * @param segment - the segment, modified in place
 * @param fieldPath - `F[r].C.S`
 * @param value - plain text
 */
export function segmentSet(context: Hl7DelimiterContext, segment: Hl7Segment, fieldPath: string, value: string): void {
  const p = parseFieldPath(segment.fields[0] ?? '', fieldPath);
  writeAt(context.delimiters, segment, p, encodeEscapes(value, context.delimiters), true, fieldPath);
}

/**
 * Append a new segment, or insert it before `beforeIndex`.
 *
 * @param message - parsed message, modified in place
 * @param segmentId - e.g. `NTE`
 * @param values - plain values of fields 1..n (escaped on the way in)
 * @param beforeIndex - 0-based position in `segments`; default: at the end
 * @returns the new segment
 */
export function addSegment(
  message: Hl7Message,
  segmentId: string,
  values: readonly string[] = [],
  beforeIndex?: number,
): Hl7Segment {
  const p = parsePath(segmentId);
  if (p.field !== undefined || p.segmentRepeat !== undefined || isHeaderSegmentId(p.segment)) {
    throw new Hl7PathError(`cannot add a segment named "${segmentId}"`, 'BAD_PATH');
  }
  const segment: Hl7Segment = { fields: [p.segment, ...values.map((v) => encodeEscapes(v, message.delimiters))] };
  insertSegment(message, segment, beforeIndex ?? message.segments.length);
  return segment;
}

/**
 * Remove one segment (e.g. `OBX[2]`). MSH cannot be removed.
 *
 * @param message - parsed message, modified in place
 * @param path - segment ID with optional occurrence
 * @returns whether a segment was removed
 */
export function removeSegment(message: Hl7Message, path: string): boolean {
  const p = parsePath(path);
  if (p.field !== undefined || p.segment === 'MSH') throw new Hl7PathError(`cannot remove "${path}"`, 'BAD_PATH');
  const segment = findSegment(message.segments, p.segment, p.segmentRepeat ?? 1);
  if (!segment) return false;
  const index = message.segments.indexOf(segment);
  message.segments.splice(index, 1);
  // The removed segment may have been the one carrying an odd last terminator.
  if (index === message.segments.length && segment.terminator !== undefined && index > 0) {
    const last = message.segments[index - 1]!;
    if (last.terminator === undefined) last.terminator = segment.terminator;
  }
  return true;
}

/**
 * How many segments with this ID the message has.
 *
 * @param message - parsed message
 * @param segmentId - e.g. `OBX`
 */
export function count(message: Hl7Message, segmentId: string): number {
  let n = 0;
  for (const s of message.segments) if (s.fields[0] === segmentId) n++;
  return n;
}

// ---------------------------------------------------------------------------

function requireField(p: Readonly<Hl7Path>, path: string): Readonly<Hl7Path> & { field: number } {
  if (p.field === undefined) throw new Hl7PathError(`path "${path}" names a segment, not a field`, 'BAD_PATH');
  return p as Readonly<Hl7Path> & { field: number };
}

function findSegment(segments: readonly Hl7Segment[], id: string, occurrence: number): Hl7Segment | undefined {
  let seen = 0;
  for (const s of segments) {
    if (s.fields[0] === id && ++seen === occurrence) return s;
  }
  return undefined;
}

/** Index into `fields` for field n: header segments count the separator itself as field 1. */
function fieldIndex(segment: Hl7Segment, field: number): number {
  return isHeaderSegmentId(segment.fields[0]) ? field - 1 : field;
}

function readLeaf(context: Hl7DelimiterContext, segment: Hl7Segment, p: Hl7Path): string | undefined {
  const raw = readRaw(context.delimiters, segment, p, true);
  if (raw === undefined) return undefined;
  const d = context.delimiters;
  if (raw.indexOf(d.escape) < 0 || isDelimiterField(segment, p)) return raw;
  return decodeEscapes(raw, d, hexDecoderFor(charsetLabel(context)));
}

function isDelimiterField(segment: Hl7Segment, p: Hl7Path): boolean {
  return p.field !== undefined && p.field <= 2 && isHeaderSegmentId(segment.fields[0]);
}

function charsetLabel(context: Hl7DelimiterContext): string | undefined {
  const segments = (context as Partial<Hl7Message>).segments;
  const msh = segments?.[0];
  if (!msh || msh.fields[0] !== 'MSH') return undefined;
  const raw = msh.fields[17];
  if (!raw) return undefined;
  return nthPart(nthPart(raw, context.delimiters.repetition, 1) ?? '', context.delimiters.component, 1);
}

/**
 * @param leaf - true: unspecified levels default to 1 down to the sub-component;
 *   false: stop at the deepest level the path gives
 */
function readRaw(d: Hl7Delimiters, segment: Hl7Segment, p: Hl7Path, leaf: boolean): string | undefined {
  const field = p.field!;
  if (isDelimiterField(segment, p)) {
    if ((p.repetition ?? 1) !== 1 || (p.component ?? 1) !== 1 || (p.subcomponent ?? 1) !== 1) return undefined;
    return field === 1 ? d.field : segment.fields[1];
  }
  let s = segment.fields[fieldIndex(segment, field)];
  if (s === undefined) return undefined;
  const wantSub = leaf || p.subcomponent !== undefined;
  const wantComp = wantSub || p.component !== undefined;
  const wantRep = wantComp || p.repetition !== undefined;
  if (wantRep) s = nthPart(s, d.repetition, p.repetition ?? 1);
  if (wantComp && s !== undefined) s = nthPart(s, d.component, p.component ?? 1);
  if (wantSub && s !== undefined) s = nthPart(s, d.subcomponent, p.subcomponent ?? 1);
  return s;
}

function writeAt(d: Hl7Delimiters, segment: Hl7Segment, p: Hl7Path, text: string, leaf: boolean, path: string): void {
  const field = p.field!;
  if (field <= 2 && isHeaderSegmentId(segment.fields[0])) {
    throw new Hl7PathError(`${segment.fields[0]}-${field} defines the delimiters and cannot be set`, 'READ_ONLY');
  }
  const index = fieldIndex(segment, field);
  const fields = segment.fields;
  while (fields.length <= index) fields.push('');
  const wantSub = leaf || p.subcomponent !== undefined;
  const wantComp = wantSub || p.component !== undefined;
  const wantRep = wantComp || p.repetition !== undefined;
  if (!wantRep) {
    fields[index] = text;
    return;
  }
  const current = fields[index]!;
  const r = p.repetition ?? 1;
  let newRep = text;
  if (wantComp) {
    const rep = nthPart(current, d.repetition, r) ?? '';
    const c = p.component ?? 1;
    let newComp = text;
    if (wantSub) newComp = replacePart(nthPart(rep, d.component, c) ?? '', d.subcomponent, p.subcomponent ?? 1, text);
    newRep = replacePart(rep, d.component, c, newComp);
  }
  fields[index] = replacePart(current, d.repetition, r, newRep);
}

function assertRawFits(d: Hl7Delimiters, p: Hl7Path, raw: string, path: string): void {
  const forbidden = ['\r', '\n', d.field];
  const sub = p.subcomponent !== undefined;
  const comp = sub || p.component !== undefined;
  if (comp || p.repetition !== undefined) forbidden.push(d.repetition);
  if (comp) forbidden.push(d.component);
  if (sub) forbidden.push(d.subcomponent);
  for (const ch of forbidden) {
    if (raw.includes(ch)) {
      throw new Hl7PathError(`raw value for "${path}" contains a delimiter of its own level or above`, 'BAD_VALUE');
    }
  }
}

function findOrCreateSegment(message: Hl7Message, id: string, occurrence: number, path: string): Hl7Segment {
  const segments = message.segments;
  let seen = 0;
  let lastIndex = -1;
  for (let i = 0; i < segments.length; i++) {
    if (segments[i]!.fields[0] !== id) continue;
    if (++seen === occurrence) return segments[i]!;
    lastIndex = i;
  }
  if (isHeaderSegmentId(id)) throw new Hl7PathError(`cannot create a ${id} segment through "${path}"`, 'BAD_PATH');
  let insertAt = lastIndex < 0 ? segments.length : lastIndex + 1;
  let created: Hl7Segment | undefined;
  while (seen < occurrence) {
    created = { fields: [id] };
    insertSegment(message, created, insertAt++);
    seen++;
  }
  return created!;
}

function insertSegment(message: Hl7Message, segment: Hl7Segment, index: number): void {
  const segments = message.segments;
  const at = Math.max(1, Math.min(index, segments.length));
  if (at === segments.length) {
    // Appending after a last segment that had no (or an odd) terminator: the
    // new segment takes over that end-of-message terminator, and the old last
    // segment gets a normal one so the two do not run together.
    const last = segments[at - 1];
    if (last && last.terminator !== undefined) {
      if (last.terminator !== '') segment.terminator = last.terminator;
      else segment.terminator = '';
      delete last.terminator;
    }
  }
  segments.splice(at, 0, segment);
}

/** Part n (1-based) of `s` split on `sep`, without allocating the split; undefined when absent. */
function nthPart(s: string, sep: string, n: number): string | undefined {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const j = s.indexOf(sep, start);
    if (j < 0) return undefined;
    start = j + 1;
  }
  const end = s.indexOf(sep, start);
  if (end < 0) return start === 0 ? s : s.slice(start);
  return s.slice(start, end);
}

/** `s` with part n replaced, padding with empty parts when it has fewer. */
function replacePart(s: string, sep: string, n: number, value: string): string {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const j = s.indexOf(sep, start);
    if (j < 0) return s + sep.repeat(n - i) + value;
    start = j + 1;
  }
  const end = s.indexOf(sep, start);
  return s.slice(0, start) + value + (end < 0 ? '' : s.slice(end));
}
