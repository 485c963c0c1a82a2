import { formatAmount, toCents, unitsToCents } from './amounts';
import { X12ParseError } from './errors';
import { isValidNpi } from './npi';
import { readComposite, readInterchange } from './reader';

const ISA = 'ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *250101*1200*^*00501*000000007*0*T*:~';

describe('readInterchange', () => {
  test('discovers separators from the ISA and keeps ISA13 zero-padded', () => {
    const doc = readInterchange(`${ISA}\r\nGS*HC*S*R*20250101*1200*7*X*005010X222A1~\r\nST*837*0001*005010X222A1~\r\nBHT*0019*00*1*20250101*1200*CH~\r\nSE*3*0001~\r\nGE*1*7~\r\nIEA*1*000000007~\r\n`);
    expect(doc.delimiters).toEqual({ element: '*', segment: '~', component: ':', repetition: '^' });
    expect(doc.interchangeControlNumber).toBe('000000007');
    expect(doc.senderId).toBe('SENDER');
    expect(doc.groups[0]!.transactions[0]!.segments[0]).toEqual({ tag: 'BHT', elements: ['0019', '00', '1', '20250101', '1200', 'CH'], position: 2 });
    expect(doc.trailer?.elements).toEqual(['1', '000000007']);
    expect(doc.warnings).toEqual([]);
  });

  test('reports truncation and wrong counts as warnings, not failures', () => {
    const doc = readInterchange(`${ISA}GS*FA*S*R*20250101*1200*7*X*005010X231A1~ST*999*0001*005010X231A1~AK1*HC*5~`);
    expect(doc.warnings.join('\n')).toMatch(/SE missing.*\n.*GE missing.*\n.*IEA missing/s);
  });

  test.each([
    ['', 'NO_ISA'],
    ['hello', 'NO_ISA'],
    ['GS*HC~ISA*00~', 'NO_ISA'],
    ['ISA*00*          *00~', 'BAD_ISA'],
    ['ISA', 'BAD_ISA'],
  ])('%j is refused with %s', (input, reason) => {
    let err: unknown;
    try {
      readInterchange(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(X12ParseError);
    expect(err).toMatchObject({ code: 'PARSE', retryable: false, reason });
  });

  test('composites: declared separator, else a ">" quirk after a two-letter qualifier', () => {
    const d = { element: '*', segment: '~', component: ':' };
    expect(readComposite('HC:58970:26', d)).toEqual({ parts: ['HC', '58970', '26'], quirk: false });
    expect(readComposite('HC>12345>26', d)).toEqual({ parts: ['HC', '12345', '26'], quirk: true });
    expect(readComposite('58970', d)).toEqual({ parts: ['58970'], quirk: false });
  });
});

describe('amounts and NPI', () => {
  test('X12 R amounts ↔ cents', () => {
    expect([toCents('541.00'), toCents('-9.00'), toCents('127.8'), toCents('0'), toCents('.5'), toCents('1.005'), toCents('1.000'), toCents(''), toCents('abc')]).toEqual([54100, -900, 12780, 0, 50, undefined, 100, undefined, undefined]);
    expect([formatAmount(350000), formatAmount(1225), formatAmount(1250), formatAmount(-900), formatAmount(5)]).toEqual(['3500', '12.25', '12.5', '-9', '0.05']);
    expect([unitsToCents(1050.25), unitsToCents('2100.00'), unitsToCents(Number.NaN)]).toEqual([105025, 210000, undefined]);
    expect(() => formatAmount(1.5)).toThrow(RangeError);
  });

  test('NPI check digit (Luhn with prefix 80840)', () => {
    expect(isValidNpi('1234567893')).toBe(true);
    expect(isValidNpi('1912301953')).toBe(true);
    expect(isValidNpi('1234567890')).toBe(false);
    expect(isValidNpi('123456789')).toBe(false);
  });
});
