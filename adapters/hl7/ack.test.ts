import { ackErrorFor, buildAck, buildAckFromRaw, get, getAll, getRaw, Hl7ParseError, parse, serialize, type Hl7Message } from './index';

const NOW = new Date(Date.UTC(2025, 2, 28, 11, 42, 10));
const CANARY = 'CANARY^PATIENT';

const original = (version = '2.5.1', msh2 = '^~\\&', extra = '|||AL|NE||UNICODE UTF-8'): Hl7Message =>
  parse(
    `MSH|${msh2}|IVFLIS|REPROLAB^2.16.840.1.113883.19.5.99^ISO|IVFEMR|REPROCLINIC|20250328114210-0500||ORU^R01^ORU_R01|CTRL-1|P|${version}${extra}\r` +
      `PID|1||CANARY-MRN-0001||${CANARY}\r`,
  );

describe('buildAck', () => {
  it('builds MSH (swapped sender/receiver, injected id and time) and MSA', () => {
    const ack = buildAck(original(), 'AA', { now: NOW, controlId: 'ACK-0001' });
    expect(serialize(ack)).toBe(
      'MSH|^~\\&|IVFEMR|REPROCLINIC|IVFLIS|REPROLAB^2.16.840.1.113883.19.5.99^ISO|20250328114210+0000||ACK^R01^ACK|ACK-0001|P|2.5.1||||||UNICODE UTF-8\r' +
        'MSA|AA|CTRL-1\r',
    );
    expect(ack.warnings).toEqual([]);
    expect(serialize(parse(serialize(ack)))).toBe(serialize(ack));
  });

  it('generates a control ID of at most 20 characters and uses the clock by default', () => {
    const a = buildAck(original(), 'AA');
    const b = buildAck(original(), 'AA');
    expect(get(a, 'MSH-10')).toMatch(/^[0-9A-F]{20}$/);
    expect(get(a, 'MSH-10')).not.toBe(get(b, 'MSH-10'));
    expect(get(a, 'MSH-7')).toMatch(/^\d{14}\+0000$/);
  });

  it('writes ERR segments in the v2.5 layout', () => {
    const ack = buildAck(original(), 'AE', {
      now: NOW,
      controlId: 'A',
      text: 'see ERR',
      errors: [
        { code: 101, location: 'PID-5[1].1', text: 'Patient name required' },
        { code: 207, severity: 'W', diagnostics: 'queue|full' },
        { code: 999, location: { segment: 'OBX', segmentRepeat: 2, field: 5 } },
      ],
    });
    expect(get(ack, 'MSA-1')).toBe('AE');
    expect(get(ack, 'MSA-3')).toBe('see ERR');
    const errs = getAll(ack, 'ERR').map((s) => s.fields.join('|'));
    expect(errs).toEqual([
      'ERR||PID^1^5^1^1|101^Required field missing^HL70357|E||||Patient name required',
      'ERR|||207^Application internal error^HL70357|W|||queue\\F\\full',
      'ERR||OBX^2^5^1|999^^HL70357|E',
    ]);
  });

  it('also fills ERR-1 (ELD) for originals before v2.5', () => {
    const ack = buildAck(original('2.4', '^~\\&', ''), 'AR', { now: NOW, controlId: 'A', errors: [{ code: 203, location: 'MSH-12' }] });
    expect(getRaw(ack, 'ERR-1')).toBe('MSH^1^12^203&Unsupported version id&HL70357');
    expect(getRaw(ack, 'ERR-2')).toBe('MSH^1^12^1');
    expect(getRaw(ack, 'ERR-3')).toBe('203^Unsupported version id^HL70357');
  });

  it('follows the original version for MSH-9', () => {
    const type = (v: string): string | undefined => getRaw(buildAck(original(v, '^~\\&', ''), 'AA', { now: NOW }), 'MSH-9');
    expect(type('2.5.1')).toBe('ACK^R01^ACK');
    expect(type('2.3')).toBe('ACK^R01');
    expect(type('2.1')).toBe('ACK');
  });

  it('keeps the original delimiters (truncation character included) and escapes with them', () => {
    const o = parse('MSH#:*!%##IVFLIS##REPRO#20250101##ORU:R01#C!F!1#P#2.5\rPID#1\r');
    const ack = buildAck(o, 'AA', { now: NOW, controlId: 'x#y' });
    expect(serialize(ack)).toBe('MSH#:*!%##REPRO##IVFLIS#20250328114210+0000##ACK:R01:ACK#x!F!y#P#2.5\rMSA#AA#C!F!1\r');
    expect(getRaw(buildAck(original('2.7', '^~\\&#', ''), 'AA', { now: NOW }), 'MSH-2')).toBe('^~\\&#');
  });

  it('lets the hub name itself as sender', () => {
    const ack = buildAck(original(), 'AA', { now: NOW, sendingApplication: 'IVFHUB', sendingFacility: 'CLINIC^1.2.3^ISO' });
    expect(getRaw(ack, 'MSH-3')).toBe('IVFHUB');
    expect(getRaw(ack, 'MSH-4')).toBe('CLINIC^1.2.3^ISO');
  });
});

describe('buildAckFromRaw', () => {
  it('uses the four classic encoding characters when a stray fifth one broke parsing', () => {
    const raw = 'MSH|^~\\&;|HL7API|PKB|App|SendingInst|20190201112500+0000||ACK^R01|PKB-1|P|2.4\rMSA|AR|x\r';
    let error: unknown;
    try {
      parse(raw);
    } catch (e) {
      error = e;
    }
    const ack = buildAckFromRaw(raw, 'AR', { now: NOW, controlId: 'N1', error });
    expect(serialize(ack)).toBe(
      'MSH|^~\\&|App|SendingInst|HL7API|PKB|20250328114210+0000||ACK^R01^ACK|N1|P|2.4\r' +
        'MSA|AR|PKB-1\r' +
        'ERR|MSH^1^2^102&Data type error&HL70357|MSH^1^2^1|102^Data type error^HL70357|E||||' +
        'MSH-2 has a fifth encoding character, which only v2.7+ defines (truncation)\r',
    );
  });

  it('falls back to default delimiters and re-escapes values when MSH-2 is unusable', () => {
    const raw = 'MSH#^~}#APP\\1#FAC&X#RCV#RFAC#19930502##BAR^P01#C&1#P#2.4\rEVN#P01\r';
    const ack = buildAckFromRaw(raw, 'AR', { now: NOW, controlId: 'N1' });
    expect(ack.delimiters.field).toBe('|');
    expect(get(ack, 'MSH-5')).toBe('APP\\1');
    expect(get(ack, 'MSH-6')).toBe('FAC&X');
    expect(get(ack, 'MSA-2')).toBe('C&1');
    expect(get(ack, 'MSH-9.2')).toBe('P01');
    expect(() => parse(serialize(ack))).not.toThrow();
  });

  it('acknowledges a truncated message from its intact MSH', () => {
    const raw = 'MSH|^~\\&|GHH LAB|ELAB-3|GHH OE|BLDG4|200202150930||ORU^R01|CNTRL-3456|P|2.4\rOBX|1|SN|1554-5^GLU';
    const error = (() => {
      try {
        parse(raw);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(Hl7ParseError);
    const ack = buildAckFromRaw(raw, 'AR', { now: NOW, error });
    expect(get(ack, 'MSA-2')).toBe('CNTRL-3456');
    expect(get(ack, 'ERR-3')).toBe('100');
    expect(get(ack, 'ERR-8')).toContain('truncated');
  });

  it('still answers when there is no MSH at all', () => {
    const ack = buildAckFromRaw(`PID|1||CANARY-MRN-0001||${CANARY}\r`, 'AR', { now: NOW, controlId: 'N1' });
    expect(serialize(ack)).toBe(
      'MSH|^~\\&|||||20250328114210+0000||ACK|N1|P|2.5.1\rMSA|AR|\rERR|||207^Application internal error^HL70357|E\r',
    );
  });

  it('accepts bytes, decoding them per MSH-18 when possible', () => {
    const raw = Buffer.from('MSH|^~}|A|B|C|D|2025||ADT^A01|Ü1|P|2.4|||||DEU|8859/1\r', 'latin1');
    expect(get(buildAckFromRaw(raw, 'AE', { now: NOW }), 'MSA-2')).toBe('Ü1');
  });

  it('never copies the text of foreign errors (it may hold PHI)', () => {
    const ack = buildAckFromRaw('garbage', 'AR', { now: NOW, error: new Error(`bad ${CANARY}`) });
    expect(serialize(ack)).not.toMatch(/CANARY/);
    expect(ackErrorFor(new Error(CANARY))).toEqual({ code: 207 });
  });
});
