import { Hl7ParseError } from './errors';
import type { Hl7Delimiters } from './types';
import { versionAtLeast } from './version';

/** The delimiters every HL7 v2 sender is expected to use (`|^~\&`). */
export const DEFAULT_DELIMITERS: Readonly<Hl7Delimiters> = Object.freeze({
  field: '|',
  component: '^',
  repetition: '~',
  escape: '\\',
  subcomponent: '&',
});

/** Header segments whose field 1 is the field separator and field 2 the encoding characters. */
export function isHeaderSegmentId(id: string | undefined): boolean {
  return id === 'MSH' || id === 'FHS' || id === 'BHS';
}

function unusableDelimiter(ch: string): boolean {
  const c = ch.charCodeAt(0);
  // Letters/digits would collide with segment IDs and data; CR/LF end segments.
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x0d || c === 0x0a
  );
}

/**
 * Validate MSH-1/MSH-2 (or FHS/BHS) and build the delimiter set.
 *
 * MSH-2 holds component, repetition, escape and sub-component characters in
 * that order (v2.1+), plus the truncation character in v2.7+. A fifth
 * character is accepted when MSH-12 says 2.7 or later, or when it is `#`,
 * the value v2.7 recommends (v2.5.1 ELR senders already send `^~\&#`).
 * Anything else there (e.g. `^~\&;`, an HTML-escaping slip seen in vendor
 * docs) is rejected rather than guessed at.
 *
 * @param fieldSep - the character after the segment ID
 * @param encodingChars - the raw MSH-2 text
 * @param version - MSH-12.1, consulted only for a fifth character
 * @param segmentName - MSH, FHS or BHS, for the error
 * @param segmentIndex - where the header is, for the error
 */
export function readDelimiters(
  fieldSep: string,
  encodingChars: string | undefined,
  version: string | undefined,
  segmentName: string,
  segmentIndex: number,
): Hl7Delimiters {
  const where = { segmentIndex, segmentName };
  if (fieldSep.length !== 1 || unusableDelimiter(fieldSep)) {
    throw new Hl7ParseError(`${segmentName}-1 (field separator) is missing or invalid`, 'BAD_ENCODING_CHARS', where);
  }
  const enc = encodingChars ?? '';
  if (enc.length < 4 || enc.length > 5) {
    throw new Hl7ParseError(
      `${segmentName}-2 has ${enc.length} encoding characters; 4 (or 5 from v2.7) expected`,
      'BAD_ENCODING_CHARS',
      where,
    );
  }
  const seen = new Set<string>([fieldSep]);
  for (const ch of enc) {
    if (unusableDelimiter(ch) || seen.has(ch)) {
      throw new Hl7ParseError(
        `${segmentName}-2 encoding characters are not distinct non-alphanumeric characters`,
        'BAD_ENCODING_CHARS',
        where,
      );
    }
    seen.add(ch);
  }
  const delimiters: Hl7Delimiters = {
    field: fieldSep,
    component: enc[0]!,
    repetition: enc[1]!,
    escape: enc[2]!,
    subcomponent: enc[3]!,
  };
  if (enc.length === 5) {
    const truncation = enc[4]!;
    if (truncation !== '#' && !versionAtLeast(version, '2.7')) {
      throw new Hl7ParseError(
        `${segmentName}-2 has a fifth encoding character, which only v2.7+ defines (truncation)`,
        'BAD_ENCODING_CHARS',
        where,
      );
    }
    delimiters.truncation = truncation;
  }
  return delimiters;
}

/**
 * MSH-2 as the delimiters should be read from it. Text copied out of a
 * string literal sometimes keeps the literal's escaping, so `^~\&` arrives as
 * `^~\\&` (seen in the ELR corpus sample from an Elixir heredoc). Two equal
 * characters can never both be delimiters, and a backslash pair where the
 * escape character belongs is exactly what literal escaping produces, so the
 * only reading is one escape character.
 * Anything else is left for readDelimiters() to judge. The raw MSH-2 text is
 * kept in the message, so the message still serializes byte-identical.
 *
 * @returns the encoding characters to use, and whether they were repaired
 */
export function readEncodingCharacters(raw: string | undefined): { encodingChars: string | undefined; doubledEscape: boolean } {
  if (raw !== undefined && (raw.length === 5 || raw.length === 6) && raw[2] === '\\' && raw[3] === '\\' && raw[4] !== '\\') {
    return { encodingChars: raw.slice(0, 3) + raw.slice(4), doubledEscape: true };
  }
  return { encodingChars: raw, doubledEscape: false };
}

/** The MSH-2 text for a delimiter set. */
export function encodingCharacters(d: Hl7Delimiters): string {
  return d.component + d.repetition + d.escape + d.subcomponent + (d.truncation ?? '');
}
