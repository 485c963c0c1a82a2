import { read835 } from './read-835';
import { remittanceEvents } from './remittance-events';
import { X12ParseError } from './errors';

const ISA = 'ISA*00*          *00*          *ZZ*PAYER          *ZZ*CLINIC         *250415*0800*^*00501*000000300*0*T*:~';

/** AUTHORED: an IVF remittance with a PLB provider adjustment, a denial (CO-204) and REF*6R line control numbers. */
const IVF_835 = [
  ISA,
  'GS*HP*PAYER*CLINIC*20250415*0800*300*X*005010X221A1',
  'ST*835*0001',
  'BPR*I*4150*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20250416',
  'TRN*1*EFT7788*1512345678',
  'N1*PR*KEY INSURANCE COMPANY',
  'REF*2U*KEYINS01',
  'N1*PE*REPRODUCTIVE MEDICINE TEST GROUP*XX*1234567893',
  'LX*1',
  'CLP*ACCT-IVF-0318*1*7700*4200*500*12*ICN0001',
  'SVC*HC:58970*3500*3000**1',
  'DTM*472*20250318',
  'CAS*CO*45*500',
  'REF*6R*CHG-0001',
  'SVC*HC:76948:26*300*0**1',
  'DTM*472*20250318',
  'CAS*CO*204*300',
  'REF*6R*CHG-0002',
  'LQ*HE*N130',
  'SVC*HC:89250*2100*1200**1',
  'CAS*PR*2*500*1',
  'CAS*CO*45*400',
  'REF*6R*CHG-0003',
  'SVC*HC:58974*1800*0**1',
  'CAS*CO*204*1800',
  'REF*6R*CHG-0004',
  'PLB*1234567893*20251231*WO:ACCT-IVF-0300*50',
  'SE*26*0001',
  'GE*1*300',
  'IEA*1*000000300',
].join('~\n') + '~\n';

describe('read835', () => {
  test('reads payment, lines, CAS triplets, remark codes, line control numbers and PLB', () => {
    const { remittances, warnings } = read835(IVF_835);
    expect(warnings).toEqual([]);
    const r = remittances[0]!;
    expect(r).toMatchObject({ totalPaidCents: 415000, paymentMethod: 'ACH', paymentDate: '20250416', traceNumber: 'EFT7788', payer: { name: 'KEY INSURANCE COMPANY', id: 'KEYINS01' }, payee: { idQualifier: 'XX', id: '1234567893' }, providerAdjustmentCents: 5000, balanced: true });
    const c = r.claims[0]!;
    expect(c).toMatchObject({ claimId: 'ACCT-IVF-0318', chargeCents: 770000, paidCents: 420000, patientResponsibilityCents: 50000, payerClaimControlNumber: 'ICN0001', balanced: true });
    expect(c.services.map((s) => [s.procedureCode, s.modifiers, s.lineControlNumber, s.paidCents])).toEqual([
      ['58970', [], 'CHG-0001', 300000],
      ['76948', ['26'], 'CHG-0002', 0],
      ['89250', [], 'CHG-0003', 120000],
      ['58974', [], 'CHG-0004', 0],
    ]);
    expect(c.services[1]).toMatchObject({ adjustments: [{ group: 'CO', reason: '204', amountCents: 30000 }], remarkCodes: ['N130'] });
    // A triplet with a quantity; another group code is another CAS segment.
    expect(c.services[2]!.adjustments).toEqual([
      { group: 'PR', reason: '2', amountCents: 50000, quantity: 1 },
      { group: 'CO', reason: '45', amountCents: 40000 },
    ]);
  });

  test('events carry line control numbers and stable IDs', () => {
    const events = remittanceEvents(read835(IVF_835).remittances[0]!);
    expect(events[0]).toMatchObject({ type: 'claim.payment', eventId: 'EFT7788:ACCT-IVF-0318:ICN0001:payment', paidCents: 420000, denied: false, payerId: 'KEYINS01' });
    expect(events.filter((e) => e.type === 'claim.adjustment').map((e) => e.type === 'claim.adjustment' && [e.lineControlNumber, e.group, e.reason, e.amountCents])).toEqual([
      ['CHG-0001', 'CO', '45', 50000],
      ['CHG-0002', 'CO', '204', 30000],
      ['CHG-0003', 'PR', '2', 50000],
      ['CHG-0003', 'CO', '45', 40000],
      ['CHG-0004', 'CO', '204', 180000],
    ]);
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  test('an interchange without an 835 is refused', () => {
    expect(() => read835(`${ISA}GS*FA*A*B*20250101*1200*1*X*005010X231A1~ST*999*0001~AK1*HC*1~SE*3*0001~GE*1*1~IEA*1*000000300~`)).toThrow(X12ParseError);
  });
});
