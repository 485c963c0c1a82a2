import type { Hl7Delimiters } from './types';

/**
 * HL7 v2 escape sequences (v2.5.1 §2.7): `\F\ \S\ \T\ \R\ \E\` stand for the
 * delimiters, `\P\` for the v2.7 truncation character, `\Xhh..\` for raw
 * bytes and `\.br\` for a line break in formatted text. Other sequences
 * (highlighting `\H\ \N\`, `\Cxxyy\`, `\Zxx\`, other formatting commands) are
 * kept verbatim: they have no plain-text meaning, and keeping them lets a
 * reader see that the sender used them.
 */

/** Turns the bytes of a `\Xhh..\` sequence into text; they are in the message's character set. */
export type HexDecoder = (bytes: Buffer) => string;

const utf8Hex: HexDecoder = (bytes) => bytes.toString('utf8');

/**
 * Decode the escape sequences of one leaf value (a component or
 * sub-component text, not a whole field).
 *
 * @param raw - the text as it appears in the message
 * @param d - the message's delimiters
 * @param decodeHex - how `\X..\` bytes become characters (default UTF-8)
 */
export function decodeEscapes(raw: string, d: Hl7Delimiters, decodeHex: HexDecoder = utf8Hex): string {
  const esc = d.escape;
  let i = raw.indexOf(esc);
  if (i < 0) return raw;
  let out = '';
  let last = 0;
  while (i >= 0) {
    const end = raw.indexOf(esc, i + 1);
    // An escape character without its closing partner is data, not a sequence.
    if (end < 0) break;
    const replacement = translate(raw.slice(i + 1, end), d, decodeHex);
    if (replacement !== undefined) {
      out += raw.slice(last, i) + replacement;
      last = end + 1;
    }
    i = raw.indexOf(esc, end + 1);
  }
  return last === 0 ? raw : out + raw.slice(last);
}

function translate(body: string, d: Hl7Delimiters, decodeHex: HexDecoder): string | undefined {
  switch (body) {
    case 'F':
      return d.field;
    case 'S':
      return d.component;
    case 'T':
      return d.subcomponent;
    case 'R':
      return d.repetition;
    case 'E':
      return d.escape;
    case 'P':
      return d.truncation;
    case '.br':
      return '\n';
  }
  // \Xhh..\: an even number of hex digits after the X.
  if (body.length >= 3 && body.length % 2 === 1 && /^X[0-9A-Fa-f]+$/.test(body)) {
    return decodeHex(Buffer.from(body.slice(1), 'hex'));
  }
  return undefined;
}

/**
 * Escape a plain value so it can stand as one leaf of a field. Line breaks
 * become `\.br\` (CR or LF would end the segment); a lone CR becomes `\X0D\`
 * so it is not silently turned into LF.
 *
 * @param value - plain text
 * @param d - the message's delimiters
 */
export function encodeEscapes(value: string, d: Hl7Delimiters): string {
  const esc = d.escape;
  let out = '';
  let last = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    let seq: string | undefined;
    if (ch === esc) seq = 'E';
    else if (ch === d.field) seq = 'F';
    else if (ch === d.component) seq = 'S';
    else if (ch === d.subcomponent) seq = 'T';
    else if (ch === d.repetition) seq = 'R';
    else if (ch === d.truncation) seq = 'P';
    else if (ch === '\n') seq = '.br';
    else if (ch === '\r') {
      if (value[i + 1] === '\n') {
        out += value.slice(last, i) + esc + '.br' + esc;
        last = i + 2;
        i++;
        continue;
      }
      seq = 'X0D';
    }
    if (seq !== undefined) {
      out += value.slice(last, i) + esc + seq + esc;
      last = i + 1;
    }
  }
  return last === 0 ? value : out + value.slice(last);
}
