import { DEFAULT_DELIMITERS, readDelimiters } from './delimiters';
import { Hl7ParseError } from './errors';
import { canonicalLineEnding, lineOffset, splitLines } from './lines';
import { assertTerminated, buildMessage, isSegmentId, throwOnWarning } from './parse';
import { serialize, serializeSegments } from './serialize';
import type { Hl7Delimiters, Hl7Message, Hl7ParseOptions, Hl7ParseWarning, Hl7Segment } from './types';

/**
 * HL7 batch files (v2.5.1 §2.10.3):
 *
 *   [FHS] { [BHS] { MSH ... } [BTS] } [FTS]
 *
 * Every part is optional, so this also splits plain back-to-back messages.
 * Headers and trailers are kept as segments; each message is a normal
 * Hl7Message with its own delimiters (from its own MSH).
 */

export interface Hl7BatchGroup {
  /** BHS, when present. */
  header?: Hl7Segment;
  messages: Hl7Message[];
  /** BTS, when present. BTS-1 is the message count. */
  trailer?: Hl7Segment;
  /** From BHS; otherwise the file's. Used for header/trailer fields. */
  delimiters: Hl7Delimiters;
}

export interface Hl7Batch {
  /** A UTF-8 BOM preceded the first segment; written back by serializeBatch(). */
  bom?: true;
  /** Terminator of the first line, used for headers/trailers without their own. */
  lineEnding: string;
  /** From FHS, else the defaults. Used for FHS/FTS fields. */
  delimiters: Hl7Delimiters;
  /** FHS, when present. */
  fileHeader?: Hl7Segment;
  batches: Hl7BatchGroup[];
  /** FTS, when present. FTS-1 is the batch count. */
  fileTrailer?: Hl7Segment;
  /** File-level warnings; `segmentIndex` counts lines of the whole file. Messages keep their own. */
  warnings: Hl7ParseWarning[];
}

/**
 * Split a batch file into its messages, keeping FHS/BHS/BTS/FTS.
 *
 * @param text - the file; segments ended by CR (LF and CRLF tolerated)
 * @param options - as for parse(); strict also rejects count mismatches
 * @throws Hl7ParseError EMPTY, BAD_BATCH, TRUNCATED, and any error parse() raises for a message
 */
export function parseBatch(text: string, options: Hl7ParseOptions = {}): Hl7Batch {
  const bom = text.charCodeAt(0) === 0xfeff;
  const start = bom ? 1 : 0;
  if (text.length <= start) throw new Hl7ParseError('batch is empty', 'EMPTY', { position: 0 });
  const split = splitLines(text, start);
  const { lines, terminators } = split;
  const n = lines.length;
  const batch: Hl7Batch = {
    lineEnding: canonicalLineEnding(terminators[0]),
    delimiters: { ...DEFAULT_DELIMITERS },
    batches: [],
    warnings: [],
  };
  const segmentAt = (i: number, sep: string): Hl7Segment => {
    const terminator = terminators[i]!;
    const fields = lines[i]!.split(sep);
    return terminator === batch.lineEnding ? { fields } : { fields, terminator };
  };
  const headerDelimiters = (i: number, id: string): Hl7Delimiters => {
    const line = lines[i]!;
    const sep = line.charAt(3);
    return readDelimiters(sep, sep ? line.split(sep)[1] : undefined, undefined, id, i);
  };
  const fail = (i: number, why: string): never => {
    const id = lines[i]!.slice(0, 3);
    throw new Hl7ParseError(`batch structure: ${why} at segment index ${i}`, 'BAD_BATCH', {
      segmentIndex: i,
      ...(isSegmentId(id) ? { segmentName: id } : {}),
      position: lineOffset(split, i, start),
    });
  };

  let i = 0;
  if (lines[0]!.startsWith('FHS')) {
    batch.delimiters = headerDelimiters(0, 'FHS');
    batch.fileHeader = segmentAt(0, batch.delimiters.field);
    i = 1;
  }
  let group: Hl7BatchGroup | undefined;
  const trailerLines = new Map<Hl7Segment, number>();
  const openGroup = (): Hl7BatchGroup => {
    group = { messages: [], delimiters: batch.delimiters };
    batch.batches.push(group);
    return group;
  };
  while (i < n) {
    const id = lines[i]!.slice(0, 3);
    if (id === 'BHS') {
      const delimiters = headerDelimiters(i, 'BHS');
      group = { header: segmentAt(i, delimiters.field), messages: [], delimiters };
      batch.batches.push(group);
      i++;
    } else if (id === 'MSH') {
      let end = i + 1;
      while (end < n && !isBoundary(lines[end]!.slice(0, 3))) end++;
      const target = group && !group.trailer ? group : openGroup();
      const message = buildMessage(split, i, end, start);
      if (options.strict) throwOnWarning(message, split, i, start, options.tolerate);
      target.messages.push(message);
      i = end;
    } else if (id === 'BTS') {
      const target = group && !group.trailer ? group : openGroup();
      target.trailer = segmentAt(i, target.delimiters.field);
      trailerLines.set(target.trailer, i);
      i++;
    } else if (id === 'FTS') {
      if (i !== n - 1) fail(i + 1, 'segment after FTS');
      batch.fileTrailer = segmentAt(i, batch.delimiters.field);
      trailerLines.set(batch.fileTrailer, i);
      i++;
    } else if (id === 'FHS') {
      fail(i, 'FHS not at the start of the file');
    } else {
      fail(i, 'segment outside any message');
    }
  }
  if (!options.allowUnterminated) assertTerminated(split, start);
  checkCounts(batch, trailerLines);
  if (options.strict && batch.warnings.length > 0) {
    const w = batch.warnings[0]!;
    const where = { segmentIndex: w.segmentIndex, position: lineOffset(split, w.segmentIndex, start) };
    const text = `batch count in segment index ${w.segmentIndex} does not match its content`;
    throw new Hl7ParseError(text, 'BATCH_COUNT_MISMATCH', where);
  }
  if (bom) batch.bom = true;
  return batch;
}

function isBoundary(id: string): boolean {
  return id === 'MSH' || id === 'BHS' || id === 'BTS' || id === 'FHS' || id === 'FTS';
}

/** BTS-1 (message count) and FTS-1 (batch count) are advisory; a mismatch is reported, not fatal. */
function checkCounts(batch: Hl7Batch, lineOf: ReadonlyMap<Hl7Segment, number>): void {
  for (const g of batch.batches) {
    const declared = declaredCount(g.trailer?.fields[1], g.delimiters);
    if (g.trailer && declared !== undefined && declared !== g.messages.length) {
      batch.warnings.push({ reason: 'BATCH_COUNT_MISMATCH', segmentIndex: lineOf.get(g.trailer) ?? 0 });
    }
  }
  const trailer = batch.fileTrailer;
  const declared = declaredCount(trailer?.fields[1], batch.delimiters);
  if (trailer && declared !== undefined && declared !== batch.batches.length) {
    batch.warnings.push({ reason: 'BATCH_COUNT_MISMATCH', segmentIndex: lineOf.get(trailer) ?? 0 });
  }
}

function declaredCount(raw: string | undefined, d: Hl7Delimiters): number | undefined {
  if (!raw) return undefined;
  const first = raw.split(d.component)[0]!.trim();
  return /^\d+$/.test(first) ? Number(first) : undefined;
}

/**
 * Write a batch back; unchanged input comes out byte-identical.
 *
 * @param batch - from parseBatch() or built by hand
 */
export function serializeBatch(batch: Hl7Batch): string {
  let out = batch.bom ? '\uFEFF' : '';
  const one = (segment: Hl7Segment | undefined, sep: string): void => {
    if (segment) out += serializeSegments([segment], sep, batch.lineEnding);
  };
  one(batch.fileHeader, batch.delimiters.field);
  for (const g of batch.batches) {
    one(g.header, g.delimiters.field);
    for (const m of g.messages) out += serialize(m);
    one(g.trailer, g.delimiters.field);
  }
  one(batch.fileTrailer, batch.delimiters.field);
  return out;
}

/**
 * Every message of a batch, in file order.
 *
 * @param batch - a parsed batch
 */
export function batchMessages(batch: Hl7Batch): Hl7Message[] {
  return batch.batches.flatMap((g) => g.messages);
}

/**
 * True when the text starts (after an optional BOM) with FHS or BHS.
 *
 * @param text - HL7 text
 */
export function isBatch(text: string): boolean {
  const start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  return text.startsWith('FHS', start) || text.startsWith('BHS', start);
}
