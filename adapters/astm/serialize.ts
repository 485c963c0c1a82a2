import { DEFAULT_DELIMITERS, delimiterDefinition } from './delimiters';
import type { AstmDelimiters } from './delimiters';
import { encodeEscapes } from './escape';
import type { AstmMessage } from './message';
import type { AstmRecord } from './record';

/**
 * A field value for {@link buildRecord}: a plain string is one leaf, an
 * array of strings the components of one repeat, an array of arrays the
 * repeats. Every leaf is escaped. `undefined`/`null` is an empty field.
 */
export type AstmFieldInput = string | null | undefined | readonly string[] | readonly (readonly string[])[];

/** E1394 ends every record with CR. */
export const RECORD_TERMINATOR = '\r';

/**
 * Build a record from plain values.
 *
 * @param type - record type, e.g. `O`
 * @param values - fields 2..n (for H: fields 3..n; H.2 is the delimiter definition)
 * @param d - delimiters; default `|\^&`
 */
export function buildRecord(type: string, values: readonly AstmFieldInput[], d: AstmDelimiters = DEFAULT_DELIMITERS): AstmRecord {
  const encoded = values.map((v) => encodeField(v, d));
  const fields = type === 'H' ? [type, delimiterDefinition(d), ...encoded] : [type, ...encoded];
  // Trailing empty fields carry nothing; E1394 §6 lets the sender leave them out.
  while (fields.length > 2 && fields[fields.length - 1] === '') fields.pop();
  return { type, fields };
}

/** Encode one field value; see {@link AstmFieldInput}. */
export function encodeField(value: AstmFieldInput, d: AstmDelimiters): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return encodeEscapes(value, d);
  if (value.length === 0) return '';
  if (typeof value[0] === 'string') return (value as readonly string[]).map((c) => encodeEscapes(c, d)).join(d.component);
  return (value as readonly (readonly string[])[]).map((rep) => rep.map((c) => encodeEscapes(c, d)).join(d.component)).join(d.repeat);
}

/** One record's text, without terminator. */
export function serializeRecord(record: AstmRecord, d: AstmDelimiters): string {
  return record.fields.join(d.field);
}

/**
 * Records to E1394 text, each ended by CR.
 *
 * @param records - in transmission order
 * @param d - delimiters (must match the H record's declaration)
 */
export function serializeRecords(records: readonly AstmRecord[], d: AstmDelimiters = DEFAULT_DELIMITERS): string {
  let out = '';
  for (const r of records) out += serializeRecord(r, d) + RECORD_TERMINATOR;
  return out;
}

/** A parsed or built message back to E1394 text (unchanged records come out byte-identical). */
export function serializeMessage(message: AstmMessage): string {
  return serializeRecords(message.records, message.delimiters);
}
