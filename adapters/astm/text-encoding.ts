/**
 * Character encoding of record text. E1394 does not name one; instruments
 * send ASCII, Latin-1/Windows-1252 or UTF-8. `auto` reads UTF-8 when the
 * bytes are valid UTF-8 and Latin-1 otherwise, so no byte is ever replaced
 * by U+FFFD (Latin-1 maps every byte to one character and back).
 */
export type AstmEncoding = 'auto' | 'utf8' | 'latin1';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * @param bytes - joined frame text
 * @param encoding - see {@link AstmEncoding}
 * @returns the text and the charset actually used
 */
export function decodeText(bytes: Uint8Array, encoding: AstmEncoding): { text: string; charset: 'utf8' | 'latin1' } {
  if (encoding === 'latin1') return { text: Buffer.from(bytes).toString('latin1'), charset: 'latin1' };
  try {
    return { text: strictUtf8.decode(bytes), charset: 'utf8' };
  } catch {
    if (encoding === 'utf8') return { text: Buffer.from(bytes).toString('utf8'), charset: 'utf8' };
    return { text: Buffer.from(bytes).toString('latin1'), charset: 'latin1' };
  }
}

/** Text to bytes for sending; `auto` sends UTF-8. */
export function encodeText(text: string, encoding: AstmEncoding): Buffer {
  return Buffer.from(text, encoding === 'latin1' ? 'latin1' : 'utf8');
}
