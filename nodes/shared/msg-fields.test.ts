import { payloadBytes, payloadOf } from './msg-fields';

describe('payloadOf (a stored body as msg.payload again)', () => {
  test.each([
    ['HL7 text', 'MSH|^~\\&|LIS|LAB\r'],
    ['X12 text', 'ISA*00*          *00~'],
    ['an object', { to: '+16175550188', n: 1 }],
    ['an array', [1, 'two']],
    ['text that only looks like JSON', '{ not json'],
  ])('%s comes back as it was stored', (_label, payload) => {
    expect(payloadOf(payloadBytes(payload))).toEqual(payload);
  });
});
