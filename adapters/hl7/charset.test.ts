import {
  decodeHl7Buffer,
  encodeHl7Buffer,
  get,
  Hl7EncodeError,
  Hl7ParseError,
  isSupportedCharset,
  parse,
  readCharsetLabel,
  serialize,
} from './index';

const withCharset = (charset: string, pid5 = 'MÜLLER^RENÉE'): string =>
  `MSH|^~\\&|A|B|C|D|20250101||ADT^A08|1|P|2.5.1|||||DEU|${charset}\rPID|1||CANARY-MRN-0001||${pid5}\r`;

describe('readCharsetLabel', () => {
  it('reads the first repetition of MSH-18 from bytes and text', () => {
    const text = withCharset('8859/1~UNICODE UTF-8');
    expect(readCharsetLabel(text)).toBe('8859/1');
    expect(readCharsetLabel(Buffer.from(text, 'latin1'))).toBe('8859/1');
  });

  it('returns undefined when MSH-18 is absent or empty', () => {
    expect(readCharsetLabel('MSH|^~\\&|A|B|C|D|20250101||ADT^A08|1|P|2.5.1\r')).toBeUndefined();
    expect(readCharsetLabel(withCharset(''))).toBeUndefined();
    expect(readCharsetLabel('PID|1\r')).toBeUndefined();
  });

  it('skips a BOM and finds the MSH of a batch file', () => {
    const file = '\uFEFFFHS|^~\\&\rBHS|^~\\&\r' + withCharset('ASCII') + 'BTS|1\rFTS|1\r';
    expect(readCharsetLabel(Buffer.from(file, 'utf8'))).toBe('ASCII');
  });
});

describe('decodeHl7Buffer / encodeHl7Buffer', () => {
  it('decodes ISO-8859-1 and encodes back byte-identical', () => {
    const bytes = Buffer.from(withCharset('8859/1'), 'latin1');
    const text = decodeHl7Buffer(bytes);
    expect(get(parse(text), 'PID-5.1')).toBe('MÜLLER');
    expect(encodeHl7Buffer(text).equals(bytes)).toBe(true);
  });

  it('decodes UTF-8 when declared and by default', () => {
    for (const label of ['UNICODE UTF-8', '']) {
      const bytes = Buffer.from(withCharset(label, 'ŁUKASZ^中文'), 'utf8');
      const text = decodeHl7Buffer(bytes);
      expect(get(parse(text), 'PID-5.2')).toBe('中文');
      expect(encodeHl7Buffer(parse(text)).equals(bytes)).toBe(true);
    }
  });

  it('treats ASCII as byte-preserving ISO-8859-1', () => {
    const bytes = Buffer.from(withCharset('ASCII'), 'latin1');
    expect(encodeHl7Buffer(decodeHl7Buffer(bytes)).equals(bytes)).toBe(true);
  });

  it('handles other ISO-8859 parts through the WHATWG tables', () => {
    const text = withCharset('8859/2', 'ŁÓDŹ^ŻANETA');
    const bytes = encodeHl7Buffer(text);
    expect(bytes.length).toBe(text.length);
    expect(decodeHl7Buffer(bytes)).toBe(text);
  });

  it('keeps a UTF-8 BOM as U+FEFF and writes it back', () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(withCharset('8859/1'), 'latin1')]);
    const text = decodeHl7Buffer(bytes);
    expect(text.charCodeAt(0)).toBe(0xfeff);
    const msg = parse(text);
    expect(msg.bom).toBe(true);
    expect(encodeHl7Buffer(serialize(msg)).equals(bytes)).toBe(true);
  });

  it('uses defaultCharset when MSH-18 is empty', () => {
    const bytes = Buffer.from(withCharset(''), 'latin1');
    expect(() => decodeHl7Buffer(bytes)).toThrow(expect.objectContaining({ reason: 'BAD_CHARSET_DATA' }));
    const text = decodeHl7Buffer(bytes, { defaultCharset: '8859/1' });
    expect(get(parse(text), 'PID-5.2')).toBe('RENÉE');
    expect(encodeHl7Buffer(text, { defaultCharset: '8859/1' }).equals(bytes)).toBe(true);
  });

  it('rejects unsupported charsets and invalid bytes with typed errors', () => {
    expect(() => decodeHl7Buffer(Buffer.from(withCharset('UNICODE UTF-16')))).toThrow(Hl7ParseError);
    expect(() => decodeHl7Buffer(Buffer.from(withCharset('UNICODE UTF-16')))).toThrow(
      expect.objectContaining({ reason: 'UNSUPPORTED_CHARSET' }),
    );
    const bad = Buffer.from(withCharset('UNICODE UTF-8', 'M\xdcLLER'), 'latin1');
    expect(() => decodeHl7Buffer(bad)).toThrow(expect.objectContaining({ reason: 'BAD_CHARSET_DATA' }));
    expect(() => encodeHl7Buffer(withCharset('KS X 1001'))).toThrow(Hl7EncodeError);
  });

  it('refuses to encode characters the charset does not have, naming only the offset', () => {
    const text = withCharset('8859/1', 'CANARY^中');
    try {
      encodeHl7Buffer(text);
      throw new Error('expected an error');
    } catch (err) {
      expect(err).toBeInstanceOf(Hl7EncodeError);
      expect((err as Hl7EncodeError).reason).toBe('UNENCODABLE_CHARACTER');
      expect((err as Hl7EncodeError).position).toBe(text.indexOf('中'));
      expect((err as Error).message).not.toMatch(/CANARY|中/);
    }
    expect(() => encodeHl7Buffer('\uFEFF' + text)).toThrow(expect.objectContaining({ position: text.indexOf('中') + 1 }));
  });

  it('decodes \\X..\\ escapes in the message charset', () => {
    expect(get(parse(withCharset('8859/1', 'M\\XDC\\LLER')), 'PID-5')).toBe('MÜLLER');
    expect(get(parse(withCharset('', 'M\\XC39C\\LLER')), 'PID-5')).toBe('MÜLLER');
  });

  it('isSupportedCharset', () => {
    expect(isSupportedCharset('UNICODE UTF-8')).toBe(true);
    expect(isSupportedCharset(' 8859/15 ')).toBe(true);
    expect(isSupportedCharset('')).toBe(true);
    expect(isSupportedCharset('GB 18030-2000')).toBe(false);
  });
});
