import { createHmac } from 'node:crypto';
import { makePatientKeyer } from './patient-key';

const secret = Buffer.alloc(32, 7);
const reference = (mrn: string): string => createHmac('sha256', secret).update(mrn.trim().toUpperCase()).digest('base64url').slice(0, 32);

describe('patient key', () => {
  test('is the keyed hash of the normalized MRN, the same whether computed or remembered', () => {
    const key = makePatientKeyer(secret);
    expect(key(' mrn-001 ')).toBe(reference('MRN-001'));
    expect(key('MRN-001')).toBe(reference('MRN-001'));
    expect(key('MRN-002')).not.toBe(key('MRN-001'));
    expect(makePatientKeyer(Buffer.alloc(32, 8))('MRN-001')).not.toBe(key('MRN-001'));
  });

  test('keeps answering correctly past the number of MRNs it remembers', () => {
    const key = makePatientKeyer(secret);
    const mrns = Array.from({ length: 5000 }, (_, i) => `MRN-${i}`);
    for (const m of mrns) key(m);
    for (const m of [mrns[0]!, mrns[2500]!, mrns[4999]!]) expect(key(m)).toBe(reference(m));
  });
});
