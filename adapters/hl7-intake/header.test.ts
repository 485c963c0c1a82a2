import { parse } from '../hl7';
import { commitAckWanted, readHeader, salvageHeader } from './header';

describe('readHeader', () => {
  test('type, control id, sender/receiver as app^facility, ack types, and PID-3.1 of the first repetition', () => {
    const m = parse('MSH|^~\\&|LIS^1.2.3^ISO|LAB|EMR||20260101||ORU^R01^ORU_R01|C1|P|2.5.1|||AL|NE\rPID|1||MRN1^^^X^MR~SSN^^^Y^SS\r');
    expect(readHeader(m, 99)).toEqual({
      info: { messageType: 'ORU^R01', controlId: 'C1', sender: 'LIS^LAB', receiver: 'EMR', version: '2.5.1', processingId: 'P', acceptAckType: 'AL', applicationAckType: 'NE', bytes: 99 },
      patientId: 'MRN1',
    });
  });

  test('no PID: no patient id', () => {
    expect(readHeader(parse('MSH|^~\\&|A|B|C|D|2026||ACK|C2|P|2.4\rMSA|AA|X\r'), 1).patientId).toBeNull();
  });
});

describe('salvageHeader', () => {
  test('reads header fields from an MSH that does not parse', () => {
    expect(salvageHeader('MSH|^~}|ADT1|FAC|RAD|MIR|1993||BAR^P01|908594|P|2.4|||ER|NE\rPID|...')).toEqual({
      controlId: '908594',
      messageType: 'BAR^P01',
      sender: 'ADT1^FAC',
      receiver: 'RAD^MIR',
      acceptAckType: 'ER',
    });
  });

  test('finds MSH after a BOM or on a later line, gives up without one', () => {
    expect(salvageHeader('\uFEFFMSH|^~\\&|A||||||ADT^A01|C9|P|2.5').controlId).toBe('C9');
    expect(salvageHeader('junk\rMSH|^~\\&|A||||||ADT^A01|C8|P|2.5').controlId).toBe('C8');
    expect(salvageHeader('PID|1||X')).toEqual({ controlId: null, messageType: null, sender: null, receiver: null, acceptAckType: null });
    expect(salvageHeader('MSHA^~\\&').controlId).toBeNull();
  });
});

describe('commitAckWanted (table 0155)', () => {
  test.each([
    ['AL', true, true],
    ['AL', false, true],
    ['NE', true, false],
    ['NE', false, false],
    ['ER', true, false],
    ['ER', false, true],
    ['SU', true, true],
    ['SU', false, false],
    ['??', false, true],
  ])('%s, success %s: %s', (condition, success, wanted) => {
    expect(commitAckWanted(condition, success)).toBe(wanted);
  });
});
