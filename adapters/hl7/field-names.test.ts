import { describePath, fieldName, knownSegments } from './index';

describe('field names', () => {
  it('names common fields', () => {
    expect(fieldName('PID', 5)).toBe('Patient Name');
    expect(fieldName('PID', 3)).toBe('Patient Identifier List');
    expect(fieldName('MSH', 1)).toBe('Field Separator');
    expect(fieldName('MSH', 9)).toBe('Message Type');
    expect(fieldName('MSH', 10)).toBe('Message Control ID');
    expect(fieldName('OBX', 5)).toBe('Observation Value');
    expect(fieldName('ERR', 3)).toBe('HL7 Error Code');
    expect(fieldName('BTS', 1)).toBe('Batch Message Count');
    expect(fieldName('PID', 5, '2.8')).toBe('Patient Name');
  });

  it('returns undefined for unknown segments and fields', () => {
    expect(fieldName('ZIV', 1)).toBeUndefined();
    expect(fieldName('PID', 0)).toBeUndefined();
    expect(fieldName('NTE', 5)).toBeUndefined();
  });

  it('covers the required segments with the v2.5.1 field counts', () => {
    const expected: Record<string, number> = {
      MSH: 21, EVN: 7, PID: 39, PV1: 52, ORC: 31, OBR: 49, OBX: 25, NTE: 4, MSA: 6, ERR: 12, NK1: 39, IN1: 53,
      FT1: 31, DG1: 21, SPM: 29, TQ1: 14, BHS: 12, BTS: 3, FHS: 12, FTS: 2,
    };
    expect(knownSegments().sort()).toEqual(Object.keys(expected).sort());
    for (const [segment, n] of Object.entries(expected)) {
      expect(fieldName(segment, n)).toBeDefined();
      expect(fieldName(segment, n + 1)).toBeUndefined();
    }
  });

  it('describes paths for display', () => {
    expect(describePath('PID-5[1].1')).toBe('PID-5 Patient Name');
    expect(describePath('OBX[2]-5')).toBe('OBX-5 Observation Value');
    expect(describePath('ZIV-3')).toBe('ZIV-3');
    expect(describePath('PID')).toBe('PID');
  });
});
