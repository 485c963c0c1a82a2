import { Hl7EncodeError, Hl7ParseError } from './errors';
import { serialize } from './serialize';
import type { Hl7Message } from './types';

/**
 * Character sets named by MSH-18 (HL7 table 0211). The charset has to be
 * known before the text exists, so it is read from the raw bytes: MSH up to
 * MSH-18 is ASCII in every supported encoding.
 *
 * Supported: `UNICODE UTF-8` (also the default when MSH-18 is empty, and the
 * common non-standard `UTF-8`), `ASCII`, `8859/1` .. `8859/9`, `8859/15`.
 * `ASCII` is read and written as ISO-8859-1: senders that declare ASCII but
 * send accented letters are common, and mapping bytes 1:1 keeps those bytes
 * intact through a round trip instead of corrupting them.
 */

interface Codec {
  /** Strict: invalid bytes throw (so a round trip never silently changes data). */
  decode(bytes: Uint8Array): string;
  /** Lenient, for `\X..\` escapes inside a value: never throws. */
  decodeLoose(bytes: Uint8Array): string;
  encode(text: string): Buffer;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const DEFAULT_LABEL = 'UNICODE UTF-8';

const utf8Codec: Codec = {
  decode(bytes) {
    // ignoreBOM keeps a BOM in the text, where parse() records it.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  },
  decodeLoose: (bytes) => asBuffer(bytes).toString('utf8'),
  encode: (text) => Buffer.from(text, 'utf8'),
};

const latin1Codec: Codec = {
  decode: (bytes) => asBuffer(bytes).toString('latin1'),
  decodeLoose: (bytes) => asBuffer(bytes).toString('latin1'),
  encode(text) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) > 0xff) throw unencodable(i);
    }
    return Buffer.from(text, 'latin1');
  },
};

/** Other ISO-8859 parts through the WHATWG decoder, with a reverse table for encoding. */
function singleByteCodec(whatwgLabel: string): Codec {
  let table: Map<number, number> | undefined;
  const reverse = (): Map<number, number> => {
    if (!table) {
      table = new Map();
      const decoder = new TextDecoder(whatwgLabel);
      for (let b = 0; b < 256; b++) {
        const ch = decoder.decode(Uint8Array.of(b));
        if (ch.length === 1 && ch !== '\uFFFD' && !table.has(ch.charCodeAt(0))) table.set(ch.charCodeAt(0), b);
      }
    }
    return table;
  };
  return {
    decode: (bytes) => new TextDecoder(whatwgLabel, { fatal: true }).decode(bytes),
    decodeLoose: (bytes) => new TextDecoder(whatwgLabel).decode(bytes),
    encode(text) {
      const map = reverse();
      const out = Buffer.allocUnsafe(text.length);
      for (let i = 0; i < text.length; i++) {
        const b = map.get(text.charCodeAt(i));
        if (b === undefined) throw unencodable(i);
        out[i] = b;
      }
      return out;
    },
  };
}

const CODECS = new Map<string, Codec>([
  ['UNICODE UTF-8', utf8Codec],
  ['UTF-8', utf8Codec],
  ['ASCII', latin1Codec],
  ['8859/1', latin1Codec],
]);
for (const part of [2, 3, 4, 5, 6, 7, 8, 9, 15]) CODECS.set(`8859/${part}`, singleByteCodec(`iso-8859-${part}`));

/**
 * True when an MSH-18 value (first repetition) names a supported character set.
 *
 * @param label - e.g. `8859/1`; empty means the default (UTF-8)
 */
export function isSupportedCharset(label: string): boolean {
  return CODECS.has(normalizeLabel(label) || DEFAULT_LABEL);
}

function normalizeLabel(label: string): string {
  return label.trim().toUpperCase();
}

function codecFor(label: string | undefined, defaultLabel: string): Codec | undefined {
  return CODECS.get(normalizeLabel(label || defaultLabel) || DEFAULT_LABEL);
}

/** Charset labels are coded values, but keep anything odd out of error text. */
function describeLabel(label: string): string {
  return /^[A-Za-z0-9 /._-]{1,32}$/.test(label) ? `"${label}"` : '(unprintable)';
}

function unencodable(index: number): Hl7EncodeError {
  return new Hl7EncodeError(
    `character at offset ${index} cannot be written in the message's character set (MSH-18)`,
    'UNENCODABLE_CHARACTER',
    index,
  );
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export interface Hl7CharsetOptions {
  /** MSH-18 label assumed when a message has none. Default `UNICODE UTF-8`. */
  defaultCharset?: string;
}

/**
 * Decode raw HL7 bytes to text using the character set named in MSH-18,
 * read from the bytes themselves. A UTF-8 BOM is kept as U+FEFF at the start
 * of the text (parse() records it, serialize() writes it back).
 *
 * @param buf - the message or batch file bytes (no MLLP framing)
 * @param options - the charset to assume when MSH-18 is empty
 * @throws Hl7ParseError UNSUPPORTED_CHARSET, BAD_CHARSET_DATA
 */
export function decodeHl7Buffer(buf: Uint8Array, options: Hl7CharsetOptions = {}): string {
  const label = readCharsetLabel(buf);
  const codec = codecFor(label, options.defaultCharset ?? DEFAULT_LABEL);
  if (!codec) {
    const text = `unsupported character set ${describeLabel(label ?? options.defaultCharset ?? '')} in MSH-18`;
    throw new Hl7ParseError(text, 'UNSUPPORTED_CHARSET', { segmentName: 'MSH' });
  }
  const hasBom = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf;
  const body = hasBom ? buf.subarray(3) : buf;
  try {
    return (hasBom ? '\uFEFF' : '') + codec.decode(body);
  } catch (err) {
    throw new Hl7ParseError('message bytes are not valid in the character set of MSH-18', 'BAD_CHARSET_DATA', {}, {
      cause: err,
    });
  }
}

/**
 * Encode HL7 text (or a message) to bytes in the character set named by its
 * MSH-18: the counterpart of decodeHl7Buffer, so decode → parse → serialize →
 * encode reproduces the input bytes.
 *
 * @param input - HL7 text or a message (serialized first)
 * @param options - the charset to assume when MSH-18 is empty
 * @throws Hl7EncodeError UNSUPPORTED_CHARSET, UNENCODABLE_CHARACTER
 */
export function encodeHl7Buffer(input: string | Hl7Message, options: Hl7CharsetOptions = {}): Buffer {
  const text = typeof input === 'string' ? input : serialize(input);
  const label = readCharsetLabel(text);
  const codec = codecFor(label, options.defaultCharset ?? DEFAULT_LABEL);
  if (!codec) {
    throw new Hl7EncodeError(
      `unsupported character set ${describeLabel(label ?? options.defaultCharset ?? '')} in MSH-18`,
      'UNSUPPORTED_CHARSET',
    );
  }
  if (text.charCodeAt(0) !== 0xfeff) return codec.encode(text);
  try {
    return Buffer.concat([UTF8_BOM, codec.encode(text.slice(1))]);
  } catch (err) {
    // Offsets count from the text the caller passed, which includes the BOM.
    if (err instanceof Hl7EncodeError && err.position !== undefined) throw unencodable(err.position + 1);
    throw err;
  }
}

/**
 * The decoder for `\Xhh..\` escape bytes in a message: its MSH-18 charset,
 * UTF-8 when absent or unsupported (escape decoding must not throw).
 *
 * @param label - MSH-18 of the message
 */
export function hexDecoderFor(label: string | undefined): (bytes: Buffer) => string {
  const codec = codecFor(label, DEFAULT_LABEL) ?? utf8Codec;
  return (bytes) => codec.decodeLoose(bytes);
}

/**
 * Read the first repetition of MSH-18 from raw bytes or text, without
 * decoding or parsing the whole message. Batch files are searched for their
 * first MSH. Returns undefined when there is no MSH or MSH-18 is empty.
 *
 * @param input - bytes or text
 */
export function readCharsetLabel(input: Uint8Array | string): string | undefined {
  const len = input.length;
  const at: (i: number) => number =
    typeof input === 'string' ? (i) => input.charCodeAt(i) : (i) => input[i] ?? NaN;
  let p = 0;
  if (typeof input === 'string' ? at(0) === 0xfeff : at(0) === 0xef && at(1) === 0xbb && at(2) === 0xbf) {
    p = typeof input === 'string' ? 1 : 3;
  }
  // Find a line that starts with MSH (the first line, or later in a batch file).
  while (p < len && !(at(p) === 0x4d && at(p + 1) === 0x53 && at(p + 2) === 0x48)) {
    while (p < len && at(p) !== 13 && at(p) !== 10) p++;
    while (p < len && (at(p) === 13 || at(p) === 10)) p++;
  }
  if (p >= len) return undefined;
  const sep = at(p + 3);
  const component = at(p + 4);
  const repetition = at(p + 5);
  // MSH-1 is the separator at p+3, so MSH-18 starts after the 17th separator.
  let seen = 0;
  let i = p + 3;
  for (; i < len && seen < 17; i++) {
    const c = at(i);
    if (c === 13 || c === 10) return undefined;
    if (c === sep) seen++;
  }
  if (seen < 17) return undefined;
  let label = '';
  for (; i < len; i++) {
    const c = at(i);
    if (c === sep || c === 13 || c === 10 || c === repetition || c === component) break;
    label += String.fromCharCode(c);
  }
  label = label.trim();
  return label === '' ? undefined : label;
}
