import type { AstmDelimiters } from './delimiters';
import { decodeEscapes } from './escape';

/**
 * One E1394 record as received: its text split on the field delimiter,
 * still escaped. Field n (1-based, as E1394 numbers them) is `fields[n - 1]`:
 * `fields[0]` is the record type (field 1), `fields[1]` the sequence number
 * (field 2) — or, in the H record, the delimiter definition. Joining the
 * fields with the same delimiter gives the text back unchanged.
 */
export interface AstmRecord {
  /** Record type ID: H, P, O, R, C, Q, M, S or L (upper case as received). */
  type: string;
  fields: string[];
}

/** Split one record's text. */
export function splitRecord(text: string, d: AstmDelimiters): AstmRecord {
  const fields = text.split(d.field);
  return { type: (fields[0] ?? '').trim().toUpperCase(), fields };
}

/** Raw (still escaped) text of field n, or undefined when the record is shorter. */
export function rawField(record: AstmRecord, n: number): string | undefined {
  return record.fields[n - 1];
}

/**
 * The repeats of field n, each split into decoded components.
 * `H.2` (the delimiter definition) is returned as one undecoded value.
 *
 * @param record - the record
 * @param n - field number (1-based)
 * @param d - the message's delimiters
 */
export function fieldRepeats(record: AstmRecord, n: number, d: AstmDelimiters): string[][] {
  const raw = rawField(record, n);
  if (raw === undefined || raw === '') return [];
  if (record.type === 'H' && n <= 2) return [[raw]];
  return raw.split(d.repeat).map((rep) => rep.split(d.component).map((c) => decodeEscapes(c, d)));
}

/**
 * One decoded leaf: component `c` of repeat `r` of field `n`.
 * Absent is undefined; present but empty is `''`.
 *
 * @param record - the record
 * @param n - field number (1-based; `R.4` is the measurement value)
 * @param d - the message's delimiters
 * @param c - component (1-based), default 1
 * @param r - repeat (1-based), default 1
 */
export function fieldValue(record: AstmRecord, n: number, d: AstmDelimiters, c = 1, r = 1): string | undefined {
  const raw = rawField(record, n);
  if (raw === undefined) return undefined;
  if (record.type === 'H' && n <= 2) return c === 1 && r === 1 ? raw : undefined;
  const rep = raw.split(d.repeat)[r - 1];
  if (rep === undefined) return undefined;
  const comp = rep.split(d.component)[c - 1];
  return comp === undefined ? undefined : decodeEscapes(comp, d);
}

/**
 * The whole field as plain text with its delimiters kept (escape sequences
 * decoded only inside each component). For free-text fields (reference
 * ranges, comments) where the structure is instrument-specific.
 */
export function fieldText(record: AstmRecord, n: number, d: AstmDelimiters): string | undefined {
  const raw = rawField(record, n);
  if (raw === undefined) return undefined;
  if (d.escape === undefined || raw.indexOf(d.escape) < 0) return raw;
  return raw
    .split(d.repeat)
    .map((rep) => rep.split(d.component).map((c) => decodeEscapes(c, d)).join(d.component))
    .join(d.repeat);
}
