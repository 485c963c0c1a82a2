import { DEFAULT_DELIMITERS, decodeEscapes, encodeEscapes, type Hl7Delimiters } from './index';

const d: Hl7Delimiters = { ...DEFAULT_DELIMITERS };
const d27: Hl7Delimiters = { ...DEFAULT_DELIMITERS, truncation: '#' };

describe('decodeEscapes', () => {
  it.each([
    ['\\F\\', '|'],
    ['\\S\\', '^'],
    ['\\T\\', '&'],
    ['\\R\\', '~'],
    ['\\E\\', '\\'],
    ['\\.br\\', '\n'],
    ['\\X41\\', 'A'],
    ['\\X0D0A\\', '\r\n'],
    ['\\XC3A9\\', 'é'],
    ['\\xc3a9\\', '\\xc3a9\\'],
  ])('%s -> %j', (raw, plain) => {
    expect(decodeEscapes(`a${raw}b`, d)).toBe(`a${plain}b`);
  });

  it('decodes \\P\\ only when a truncation character is declared', () => {
    expect(decodeEscapes('Apt \\P\\5', d27)).toBe('Apt #5');
    expect(decodeEscapes('Apt \\P\\5', d)).toBe('Apt \\P\\5');
  });

  it('keeps unknown sequences and formatting commands verbatim', () => {
    expect(decodeEscapes('\\H\\bold\\N\\ \\.sp2\\ \\Cxxyy\\ \\Z1\\', d)).toBe('\\H\\bold\\N\\ \\.sp2\\ \\Cxxyy\\ \\Z1\\');
  });

  it('keeps an unpaired escape character as data', () => {
    expect(decodeEscapes('C:\\temp', d)).toBe('C:\\temp');
    expect(decodeEscapes('a\\F\\b\\', d)).toBe('a|b\\');
  });

  it('handles the ProtoGen sample (escaped escape sequences, hex)', () => {
    expect(decodeEscapes('this is \\E\\S\\E\\: `\\S\\\' \\X0102030D0A30313233\\', d)).toBe(
      "this is \\S\\: `^' \u0001\u0002\u0003\r\n0123",
    );
  });

  it('uses the given decoder for hex bytes', () => {
    expect(decodeEscapes('\\XE9\\', d, (b) => b.toString('latin1'))).toBe('é');
  });

  it('uses the message delimiters, not the defaults', () => {
    const odd: Hl7Delimiters = { field: '#', component: ':', repetition: '*', escape: '!', subcomponent: '%' };
    expect(decodeEscapes('a!F!b!S!c!E!d\\F\\', odd)).toBe('a#b:c!d\\F\\');
  });
});

describe('encodeEscapes', () => {
  it('escapes every delimiter, the escape character first', () => {
    expect(encodeEscapes('a|b^c&d~e\\f', d)).toBe('a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f');
  });

  it('escapes the truncation character only when declared', () => {
    expect(encodeEscapes('Apt #5', d27)).toBe('Apt \\P\\5');
    expect(encodeEscapes('Apt #5', d)).toBe('Apt #5');
  });

  it('turns line breaks into \\.br\\ and a lone CR into \\X0D\\', () => {
    expect(encodeEscapes('l1\nl2\r\nl3\rl4', d)).toBe('l1\\.br\\l2\\.br\\l3\\X0D\\l4');
  });

  it('returns the same string when nothing needs escaping', () => {
    const s = 'CANARY PATIENT 245.6 m[IU]/mL <5';
    expect(encodeEscapes(s, d)).toBe(s);
  });

  it('round-trips through decodeEscapes (line breaks normalised to LF)', () => {
    const values = ['O|Brien^Jr & co ~ \\ # done', 'x\r\ny', 'é ß 中文 🙂', '', '\\.br\\ literally'];
    for (const v of values) expect(decodeEscapes(encodeEscapes(v, d27), d27)).toBe(v.replace(/\r\n/g, '\n'));
  });
});
