import { fixtureText, x12CanariesIn } from '../../test/fixtures/x12';
import { flowNode, helper, logEvents, MessageTap, StatusTap, withCatalog } from '../../test/support/node-red-helper';
import type { FlowNode, TestMsg } from '../../test/support/node-red-helper';
import x12ParseInit = require('./x12-parse');

helper.init(require.resolve('node-red'));

const ISA = (icn: string, from = 'PAYER', to = 'CLINIC'): string => `ISA*00*          *00*          *ZZ*${from.padEnd(15)}*ZZ*${to.padEnd(15)}*250415*0800*^*00501*${icn}*0*T*:`;

/** AUTHORED: a small IVF remittance, two claims. */
const REMIT_835 = [
  ISA('000000300'),
  'GS*HP*PAYER*CLINIC*20250415*0800*300*X*005010X221A1',
  'ST*835*0001',
  'BPR*I*4650*C*ACH*CCP*01*999999999*DA*123456*1512345678**01*999988880*DA*98765*20250416',
  'TRN*1*EFT7788*1512345678',
  'N1*PR*KEY INSURANCE COMPANY',
  'REF*2U*KEYINS01',
  'N1*PE*REPRODUCTIVE MEDICINE TEST GROUP*XX*1234567893',
  'LX*1',
  'CLP*ACCT-IVF-0318*1*3500*3000*500*12*ICN0001',
  'CAS*CO*45*500',
  'CLP*ACCT-IVF-0319*1*1800*1650*0*12*ICN0002',
  'CAS*CO*45*150',
  'SE*13*0001',
  'GE*1*300',
  'IEA*1*000000300',
].join('~\n') + '~\n';

const ACK_999 = [
  ISA('000000777', 'KEYINSRECEIVER', 'REPROMEDSUBMIT'),
  'GS*FA*KEYINSRECEIVER*REPROMEDSUBMIT*20250325*0900*777*X*005010X231A1',
  'ST*999*0001*005010X231A1',
  'AK1*HC*12*005010X222A1',
  'AK2*837*0031*005010X222A1',
  'IK5*A',
  'AK2*837*0032*005010X222A1',
  'IK5*R*5',
  'AK9*P*2*2*1',
  'SE*8*0001',
  'GE*1*777',
  'IEA*1*000000777',
].join('~') + '~';

const manifest = {
  interchangeControlNumber: '000000555',
  groupControlNumber: '12',
  senderId: 'REPROMEDSUBMIT',
  receiverId: 'KEYINSRECEIVER',
  transactions: [
    { controlNumber: '0031', claimIds: ['ACCT-1'] },
    { controlNumber: '0032', claimIds: ['ACCT-2'] },
  ],
  createdAt: '2025-03-25T08:00:00.000Z',
};

describe('x12-parse node', () => {
  beforeEach(() => helper.startServer());
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  async function load(settings: Record<string, unknown> = {}) {
    const flow: FlowNode[] = [
      { id: 'f1', type: 'tab' },
      { id: 'p1', z: 'f1', type: 'x12-parse', output: 'whole', ...settings, wires: [['out']] },
      { id: 'out', z: 'f1', type: 'helper' },
      { id: 'c1', z: 'f1', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', z: 'f1', type: 'helper' },
    ];
    await helper.load(withCatalog(x12ParseInit, __dirname, 'x12-parse'), flow);
    return { out: new MessageTap('out'), caught: new MessageTap('caught'), status: new StatusTap('p1') };
  }

  test('an 835 gives remittances and payment events with stable ids', async () => {
    const { out, status } = await load();
    flowNode('p1').receive({ payload: REMIT_835 } as TestMsg);
    const msg = await out.next();
    expect(msg).toMatchObject({ x12Kind: '835', controlId: '000000300', messageType: '835' });
    const payments = (msg.remittanceEvents as { type: string; eventId: string; claimId: string; paidCents: number }[]).filter((e) => e.type === 'claim.payment');
    expect(payments.map((p) => [p.claimId, p.paidCents, p.eventId])).toEqual([
      ['ACCT-IVF-0318', 300000, 'EFT7788:ACCT-IVF-0318:ICN0001:payment'],
      ['ACCT-IVF-0319', 165000, 'EFT7788:ACCT-IVF-0319:ICN0002:payment'],
    ]);
    await status.until((s) => s.text === '835: 2');
  });

  test('one msg per claim payment, ready for emr out', async () => {
    const { out } = await load({ output: 'payments' });
    flowNode('p1').receive({ payload: Buffer.from(REMIT_835) } as TestMsg);
    const first = await out.next();
    const second = await out.next();
    expect([first.payload, second.payload].map((p) => (p as { claimId: string }).claimId)).toEqual(['ACCT-IVF-0318', 'ACCT-IVF-0319']);
    expect(first.parts).toMatchObject({ index: 0, count: 2 });
  });

  test('a 999 with the manifest gives one result per claim', async () => {
    const { out } = await load();
    flowNode('p1').receive({ payload: ACK_999, manifest } as TestMsg);
    const msg = await out.next();
    expect((msg.claimAcks as { claimId: string; status: string }[]).map((a) => [a.claimId, a.status])).toEqual([
      ['ACCT-1', 'accepted'],
      ['ACCT-2', 'rejected'],
    ]);
  });

  test('a TA1 rejection and an 837P are read too', async () => {
    const { out } = await load();
    flowNode('p1').receive({ payload: fixtureText('ta1-rejected.x12') } as TestMsg);
    expect((await out.next()).x12Kind).toBe('ack');
  });

  test('unreadable input reaches Catch as PARSE without quoting it', async () => {
    const { caught, status } = await load();
    flowNode('p1').receive({ payload: 'CANARYSURNAME not x12' } as TestMsg);
    const failed = await caught.next();
    expect(failed.error).toMatchObject({ code: 'PARSE' });
    expect(failed.retryable).toBe(false);
    flowNode('p1').receive({ payload: 42 } as TestMsg);
    expect((await caught.next()).error).toMatchObject({ code: 'PARSE' });
    await status.until((s) => s.text === 'error: PARSE');
    expect(x12CanariesIn(JSON.stringify([failed.error, status.all, logEvents()]))).toEqual([]);
  });
});
