import type { AstmDelimiters } from './delimiters';
import { AstmParseError } from './errors';

/**
 * E1394 §6 (LIS2-A2 §6) escape sequences, shown with `&` as the
 * escape delimiter: `&F&` field, `&S&` component, `&R&` repeat, `&E&`
 * escape, and `&Xhh..&` bytes in hex. Others (`&Zcccc&` local sequences,
 * highlighting) are kept verbatim: they have no plain-text meaning.
 */

/**
 * Decode one leaf value (a component, not a whole field).
 *
 * @param raw - the text as received
 * @param d - the message's delimiters
 */
export function decodeEscapes(raw: string, d: AstmDelimiters): string {
  const esc = d.escape;
  if (esc === undefined) return raw;
  let i = raw.indexOf(esc);
  if (i < 0) return raw;
  let out = '';
  let last = 0;
  while (i >= 0) {
    const end = raw.indexOf(esc, i + 1);
    if (end < 0) break; // a lone escape character is data
    const body = raw.slice(i + 1, end);
    const replacement = translate(body, d);
    if (replacement !== undefined) {
      out += raw.slice(last, i) + replacement;
      last = end + 1;
      i = raw.indexOf(esc, end + 1);
    } else {
      // Not a sequence: the closing character may open the next one.
      i = end;
    }
  }
  return last === 0 ? raw : out + raw.slice(last);
}

function translate(body: string, d: AstmDelimiters): string | undefined {
  switch (body) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'R':
      return d.repeat;
    case 'E':
      return d.escape;
  }
  if (body.length >= 3 && body.length % 2 === 1 && /^X[0-9A-Fa-f]+$/.test(body)) {
    return Buffer.from(body.slice(1), 'hex').toString('latin1');
  }
  return undefined;
}

/**
 * Escape a plain value so it can stand as one leaf of a field. CR and LF
 * become `&X0D&` / `&X0A&`: CR would end the record, LF is an E1381
 * restricted character.
 *
 * @param value - plain text
 * @param d - the delimiters of the message being built
 * @throws AstmParseError BAD_VALUE when the value needs escaping and `d` has no escape delimiter
 */
export function encodeEscapes(value: string, d: AstmDelimiters): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    let seq: string | undefined;
    if (ch === d.escape) seq = 'E';
    else if (ch === d.field) seq = 'F';
    else if (ch === d.component) seq = 'S';
    else if (ch === d.repeat) seq = 'R';
    else if (ch === '\r') seq = 'X0D';
    else if (ch === '\n') seq = 'X0A';
    if (seq === undefined) continue;
    if (d.escape === undefined) throw new AstmParseError(`value needs an escape sequence at position ${i}, but the delimiters have no escape character`, 'BAD_VALUE');
    out += value.slice(last, i) + d.escape + seq + d.escape;
    last = i + 1;
  }
  return last === 0 ? value : out + value.slice(last);
}
