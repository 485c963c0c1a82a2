import { IntegrationError } from '../shared/errors';
import { Hl7ParseError, parse, serialize, type Hl7Message } from './index';

const CANARY_NAME = 'CANARY^PATIENT';
const CANARY_MRN = 'CANARY-MRN-0001';

function oru(eol = '\r', msh2 = '^~\\&', version = '2.5.1'): string {
  return (
    [
      `MSH|${msh2}|IVFLIS|REPROLAB|IVFEMR|REPROCLINIC|20250328114210-0500||ORU^R01^ORU_R01|CTRL-1|P|${version}`,
      `PID|1||${CANARY_MRN}^^^REPROCLINIC^MR||${CANARY_NAME}||19010101|F`,
      'OBX|1|NM|21198-7^hCG beta^LN||245.6|m[IU]/mL|<5|H|||F',
      'NTE|1|L|read back \\T\\ confirmed\\.br\\second line \\X0D0A\\ \\H\\bold\\N\\',
    ].join(eol) + eol
  );
}

function expectParseError(fn: () => unknown, reason: string): Hl7ParseError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(Hl7ParseError);
    expect((err as Hl7ParseError).reason).toBe(reason);
    return err as Hl7ParseError;
  }
  throw new Error(`expected Hl7ParseError ${reason}`);
}

describe('parse / serialize round trip', () => {
  it.each([
    ['CR', '\r'],
    ['LF', '\n'],
    ['CRLF', '\r\n'],
  ])('is byte-identical with %s terminators', (_name, eol) => {
    const text = oru(eol);
    const msg = parse(text);
    expect(msg.lineEnding).toBe(eol);
    expect(msg.segments).toHaveLength(4);
    expect(msg.segments.every((s) => s.terminator === undefined)).toBe(true);
    expect(serialize(msg)).toBe(text);
  });

  it('keeps mixed terminators and blank lines exactly', () => {
    const text = 'MSH|^~\\&|A|B|C|D|20250101||ACK|1|P|2.5\r\nMSA|AA|1\n\nERR|||207\r\r';
    const msg = parse(text);
    expect(msg.segments.map((s) => s.terminator)).toEqual([undefined, '\n\n', '\r\r']);
    expect(serialize(msg)).toBe(text);
  });

  it('keeps and reports a UTF-8 BOM', () => {
    const text = '\uFEFF' + oru();
    const msg = parse(text);
    expect(msg.bom).toBe(true);
    expect(msg.segments[0]!.fields[0]).toBe('MSH');
    expect(serialize(msg)).toBe(text);
    expect(parse(oru()).bom).toBeUndefined();
  });

  it('keeps escape sequences and trailing delimiters verbatim', () => {
    const text = 'MSH|^~\\&|A||||||ORU^R01|1|P|2.5||\rNTE|1||\\E\\S\\E\\ \\Zabc\\ \\X41\\ ^^~&||\r';
    expect(serialize(parse(text))).toBe(text);
  });

  it('survives JSON and structured clone unchanged', () => {
    const text = '\uFEFF' + oru('\r\n');
    const msg = parse(text);
    const viaJson = JSON.parse(JSON.stringify(msg)) as Hl7Message;
    expect(serialize(viaJson)).toBe(text);
    expect(serialize(structuredClone(msg))).toBe(text);
  });

  it('splits fields eagerly, keeping them encoded', () => {
    const msg = parse(oru());
    expect(msg.segments[1]!.fields).toEqual(['PID', '1', '', `${CANARY_MRN}^^^REPROCLINIC^MR`, '', CANARY_NAME, '', '19010101', 'F']);
    expect(msg.segments[3]!.fields[3]).toContain('\\T\\');
  });
});

describe('encoding characters', () => {
  it('reads the default delimiters', () => {
    expect(parse(oru()).delimiters).toEqual({ field: '|', component: '^', repetition: '~', escape: '\\', subcomponent: '&' });
  });

  it('reads nonstandard separators', () => {
    const text = 'MSH#:*!%#APP#FAC####ACK:R01#9#P#2.5\rMSA#AA#9\r';
    const msg = parse(text);
    expect(msg.delimiters).toEqual({ field: '#', component: ':', repetition: '*', escape: '!', subcomponent: '%' });
    expect(serialize(msg)).toBe(text);
  });

  it('accepts a fifth (truncation) character from v2.7', () => {
    expect(parse(oru('\r', '^~\\&;', '2.7')).delimiters.truncation).toBe(';');
    expect(parse(oru('\r', '^~\\&#', '2.8.2')).delimiters.truncation).toBe('#');
  });

  it('accepts # as fifth character before v2.7 (v2.5.1 ELR senders)', () => {
    expect(parse(oru('\r', '^~\\&#', '2.5.1')).delimiters.truncation).toBe('#');
  });

  it('rejects another fifth character before v2.7', () => {
    const err = expectParseError(() => parse(oru('\r', '^~\\&;', '2.4')), 'BAD_ENCODING_CHARS');
    expect(err.segmentName).toBe('MSH');
  });

  it.each([
    ['three characters', '^~\\'],
    ['six characters', '^~\\&#;'],
    ['a doubled character other than the escape', '^^~\\&'],
    ['duplicates', '^~\\^'],
    ['the field separator', '^~\\|'],
    ['alphanumerics', '^~\\A'],
    ['nothing', ''],
  ])('rejects %s', (_name, msh2) => {
    expectParseError(() => parse(oru('\r', msh2)), 'BAD_ENCODING_CHARS');
  });

  it('reads a doubled escape character (text copied from an escaped string literal) as one, with a warning, and writes it back as it came', () => {
    for (const msh2 of ['^~\\\\&', '^~\\\\&#']) {
      const text = oru('\r', msh2, '2.5.1');
      const msg = parse(text);
      expect(msg.delimiters).toMatchObject({ component: '^', repetition: '~', escape: '\\', subcomponent: '&' });
      expect(msg.warnings).toEqual([{ reason: 'DOUBLED_ESCAPE_CHAR', segmentIndex: 0 }]);
      expect(serialize(msg)).toBe(text);
      expectParseError(() => parse(text, { strict: true }), 'DOUBLED_ESCAPE_CHAR');
      expect(parse(text, { strict: true, tolerate: ['DOUBLED_ESCAPE_CHAR'] }).warnings).toHaveLength(1);
      expectParseError(() => parse(`${text}MSH|^~\\&|\r`, { strict: true, tolerate: ['DOUBLED_ESCAPE_CHAR'] }), 'MULTIPLE_MESSAGES');
    }
  });

  it('rejects an alphanumeric or missing field separator', () => {
    expectParseError(() => parse('MSHA^~\\&A\r'), 'BAD_ENCODING_CHARS');
    expectParseError(() => parse('MSH\rPID|1\r'), 'BAD_ENCODING_CHARS');
  });
});

describe('parse errors', () => {
  it('rejects empty input (and a lone BOM)', () => {
    expectParseError(() => parse(''), 'EMPTY');
    expectParseError(() => parse('\uFEFF'), 'EMPTY');
  });

  it('requires MSH first', () => {
    const err = expectParseError(() => parse(`PID|1||${CANARY_MRN}\r`), 'MISSING_MSH');
    expect(err.segmentIndex).toBe(0);
    expect(err.segmentName).toBe('PID');
    expect(err.position).toBe(0);
  });

  it('points batch files to parseBatch', () => {
    const err = expectParseError(() => parse('FHS|^~\\&\rFTS|0\r'), 'MISSING_MSH');
    expect(err.message).toContain('parseBatch');
  });

  it('rejects a message whose last segment has no terminator', () => {
    const text = oru().slice(0, -20);
    const err = expectParseError(() => parse(text), 'TRUNCATED');
    expect(err.segmentIndex).toBe(3);
    expect(err.segmentName).toBe('NTE');
    expect(err.position).toBe(text.length);
  });

  it('accepts it with allowUnterminated, and keeps it unterminated', () => {
    const text = oru().slice(0, -1);
    const msg = parse(text, { allowUnterminated: true });
    expect(msg.segments[3]!.terminator).toBe('');
    expect(serialize(msg)).toBe(text);
  });

  it('is an IntegrationError with code PARSE, not retryable', () => {
    const err = expectParseError(() => parse('nope\r'), 'MISSING_MSH');
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err.code).toBe('PARSE');
    expect(err.retryable).toBe(false);
    expect(err.name).toBe('Hl7ParseError');
  });

  it('never puts message content in the error text', () => {
    const inputs = [
      `${CANARY_NAME}|${CANARY_MRN}\r`,
      `MSH|^~\\&|${CANARY_MRN}|${CANARY_NAME}\rPID|1||${CANARY_MRN}`,
      `MSH|^~${CANARY_NAME}|x\r`,
      `MSH|^~\\&|A|B|C|D|||ORU^R01|1|P|2.5\r${CANARY_NAME}|${CANARY_MRN}\r`,
      `MSH|^~\\&|A|B|C|D|||ORU^R01|1|P|2.5\rOBR|1| OBX||${CANARY_NAME}\r`,
    ];
    for (const input of inputs) {
      for (const options of [{}, { strict: true }]) {
        try {
          parse(input, options);
        } catch (err) {
          expect(String((err as Error).message)).not.toMatch(/CANARY/);
          expect(JSON.stringify(err)).not.toMatch(/CANARY/);
        }
      }
    }
  });
});

describe('warnings and strict mode', () => {
  const base = 'MSH|^~\\&|A|B|C|D|20250101||ORU^R01|1|P|2.5\r';

  it('keeps segments with invalid IDs and reports them by index only', () => {
    const text = base + `PID|1||${CANARY_MRN}\rwrapped^tail of PID\rOBX|1\r`;
    const msg = parse(text);
    expect(msg.warnings).toEqual([{ reason: 'BAD_SEGMENT_ID', segmentIndex: 2 }]);
    expect(serialize(msg)).toBe(text);
    const err = expectParseError(() => parse(text, { strict: true }), 'BAD_SEGMENT_ID');
    expect(err.segmentIndex).toBe(2);
    expect(err.segmentName).toBeUndefined();
  });

  it('reports a second MSH', () => {
    const text = base + 'MSA|AA|1\r' + base;
    expect(parse(text).warnings).toEqual([{ reason: 'MULTIPLE_MESSAGES', segmentIndex: 2 }]);
    expectParseError(() => parse(text, { strict: true }), 'MULTIPLE_MESSAGES');
  });

  it('reports segments run together on one line', () => {
    const text = base + 'OBR|1|||37953^CT CHEST^L|| OBX||TX|FIND^FINDINGS^L|1|text.| OBX||TX\r';
    expect(parse(text).warnings).toEqual([{ reason: 'EMBEDDED_SEGMENT', segmentIndex: 1 }]);
    expectParseError(() => parse(text, { strict: true }), 'EMBEDDED_SEGMENT');
  });

  it('does not flag ordinary data that starts with a space', () => {
    expect(parse(base + 'NTE|1|| USA|| ABC| MED\r').warnings).toEqual([]);
  });

  it('accepts Z-segments and digits in IDs', () => {
    expect(parse(base + 'ZIV|1\rIN1|1\rPV2|\r').warnings).toEqual([]);
  });
});
