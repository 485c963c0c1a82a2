import { randomBytes } from 'node:crypto';
import { BodyCipher, CryptoError } from '../store/body-cipher';
import { openBody, sealBody } from './body-envelope';
import { QueueMessageError } from './errors';
import { decodeWire, encodeWire } from './rabbitmq-codec';
import { decodeSqs, encodeSqs } from './sqs-codec';

const cipher = new BodyCipher({ k1: randomBytes(32) }, 'k1');
const wire = {
  id: '01900000-0000-7000-8000-000000000001',
  key: 'pk-1',
  headers: { type: 'ORU^R01' },
  attempts: 2,
  firstEnqueuedAt: 1_767_225_600_000,
  enqueuedAt: 1_767_225_601_000,
  history: [{ event: 'failed' as const, at: new Date(1_767_225_602_000), attempt: 1, code: 'TIMEOUT', retryable: true, error: 'X', message: 'late' }],
  body: Buffer.from([0, 1, 2, 0xff]),
};

test('sealed envelopes open with the id they were sealed for, and only with it', () => {
  const sealed = sealBody(cipher, 'a', Buffer.from('PHI'));
  expect(sealed.includes('PHI')).toBe(false);
  expect(openBody(cipher, 'a', sealed).toString()).toBe('PHI');
  expect(() => openBody(cipher, 'b', sealed)).toThrow(CryptoError);
});

describe.each([
  ['AMQP', (c?: BodyCipher) => {
    const { content, options } = encodeWire(wire, c);
    return decodeWire(content, options as { messageId?: unknown; headers?: Record<string, unknown> }, c);
  }],
  ['SQS', (c?: BodyCipher) => {
    const { body, attributes } = encodeSqs(wire, c);
    return decodeSqs(body, attributes, c);
  }],
])('%s codec', (_name, roundTrip) => {
  test('round-trips a message, plain and sealed', () => {
    for (const c of [undefined, cipher]) {
      const back = roundTrip(c);
      expect(back).toMatchObject({ id: wire.id, key: 'pk-1', headers: wire.headers, firstEnqueuedAt: wire.firstEnqueuedAt, enqueuedAt: wire.enqueuedAt, history: wire.history });
      expect(back.body.equals(wire.body)).toBe(true);
      expect(back.bodyError).toBeUndefined();
    }
  });
});

test('a sealed body this process cannot open is reported, not thrown', () => {
  const { content, options } = encodeWire(wire, cipher);
  const other = new BodyCipher({ k1: randomBytes(32) }, 'k1');
  expect(decodeWire(content, options as never, other).bodyError).toBeInstanceOf(CryptoError);
  expect(decodeWire(content, options as never, undefined).bodyError).toBeInstanceOf(QueueMessageError);
});

test('foreign messages are refused with a typed error', () => {
  expect(() => decodeWire(Buffer.from('x'), { headers: {} }, undefined)).toThrow(QueueMessageError);
  expect(() => decodeSqs('eA==', {}, undefined)).toThrow(QueueMessageError);
});
