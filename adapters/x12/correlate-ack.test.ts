import { correlateAcknowledgment } from './correlate-ack';
import { readAcknowledgment } from './read-ack';
import type { SubmissionManifest } from './submission';
import { X12ParseError } from './errors';

const ISA = 'ISA*00*          *00*          *ZZ*KEYINSRECEIVER *ZZ*REPROMEDSUBMIT *250325*0900*^*00501*000000777*0*T*:~';
const manifest: SubmissionManifest = {
  interchangeControlNumber: '000000012',
  groupControlNumber: '12',
  senderId: 'REPROMEDSUBMIT',
  receiverId: 'KEYINSRECEIVER',
  transactions: [
    { controlNumber: '0031', claimIds: ['ACCT-A'] },
    { controlNumber: '0032', claimIds: ['ACCT-B'] },
    { controlNumber: '0033', claimIds: ['ACCT-C'] },
  ],
  createdAt: '2025-03-25T08:00:00Z',
};
const ack999 = (body: string[]): string => [ISA.slice(0, -1), 'GS*FA*KEYINSRECEIVER*REPROMEDSUBMIT*20250325*0900*777*X*005010X231A1', 'ST*999*0001*005010X231A1', ...body, `SE*${body.length + 2}*0001`, 'GE*1*777', 'IEA*1*000000777'].join('~') + '~';

describe('correlateAcknowledgment', () => {
  test('per transaction set: A accepted, E accepted with errors, R rejected with IK3/IK4 detail', () => {
    const ack = readAcknowledgment(
      ack999(['AK1*HC*12*005010X222A1', 'AK2*837*0031*005010X222A1', 'IK5*A', 'AK2*837*0032*005010X222A1', 'IK3*DMG*14*2010BA*8', 'IK4*2*1251*8*19010199', 'IK5*E*I5', 'AK2*837*0033*005010X222A1', 'IK3*CLM*21*2300*8', 'IK4*2*782*6', 'IK5*R*5', 'AK9*P*3*3*2']),
    );
    expect(ack.warnings).toEqual([]);
    expect(ack.groups[0]!.transactions[1]!.segmentErrors[0]!.elements).toEqual([{ position: '2', reference: '1251', code: '8' }]);
    expect(correlateAcknowledgment(ack, manifest).map((r) => [r.claimId, r.status, r.level, r.errorCodes, r.segmentErrors.map((e) => `${e.segmentId}@${e.position}/${e.loop}`)])).toEqual([
      ['ACCT-A', 'accepted', 'transaction', [], []],
      ['ACCT-B', 'accepted-with-errors', 'transaction', ['I5'], ['DMG@14/2010BA']],
      ['ACCT-C', 'rejected', 'transaction', ['5'], ['CLM@21/2300']],
    ]);
  });

  test('without AK2 loops the group status decides; P (partial) without detail stays pending', () => {
    expect(correlateAcknowledgment(readAcknowledgment(ack999(['AK1*HC*12*005010X222A1', 'AK9*A*3*3*3'])), manifest).map((r) => [r.status, r.level])).toEqual([
      ['accepted', 'group'],
      ['accepted', 'group'],
      ['accepted', 'group'],
    ]);
    expect(correlateAcknowledgment(readAcknowledgment(ack999(['AK1*HC*12*005010X222A1', 'AK9*R*3*3*0*5'])), manifest).map((r) => [r.status, r.errorCodes])).toEqual([
      ['rejected', ['5']],
      ['rejected', ['5']],
      ['rejected', ['5']],
    ]);
    expect(correlateAcknowledgment(readAcknowledgment(ack999(['AK1*HC*12*005010X222A1', 'AK9*P*3*3*1'])), manifest).map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
  });

  test('an acknowledgment of another group leaves the claims pending', () => {
    expect(correlateAcknowledgment(readAcknowledgment(ack999(['AK1*HC*99*005010X222A1', 'AK9*R*1*1*0'])), manifest).map((r) => r.status)).toEqual(['pending', 'pending', 'pending']);
  });

  test('an interchange with neither TA1 nor 999 is not an acknowledgment', () => {
    expect(() => readAcknowledgment(`${ISA}GS*HP*A*B*20250101*1200*1*X*005010X221A1~ST*835*0001~BPR*I*0*C*NON~SE*3*0001~GE*1*1~IEA*1*000000777~`)).toThrow(X12ParseError);
  });
});
