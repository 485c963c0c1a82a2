import { MessageNotFoundError } from '../store/errors';
import type { StatusPatch } from '../store/types';
import { assertDelivered } from './delivery-check';
import { MessageStoreDeliverySink, fanOutDeliverySink } from './delivery-status';
import type { DeliveryUpdate } from './delivery-status';
import { DeliveryFailedError, DeliveryPendingError } from './errors';
import { InMemorySentRegistry } from './sent-registry';

const at = new Date('2026-03-01T12:00:00Z');
const update = (state: DeliveryUpdate['state'], errorCode: string | null = null): DeliveryUpdate => ({
  hubMessageId: 'm1',
  channel: 'sms',
  state,
  providerStatus: state === 'failed' ? 'undelivered' : state,
  providerId: 'SM1',
  errorCode,
  at,
});

describe('MessageStoreDeliverySink', () => {
  test('writes final states onto the store record and leaves intermediate ones', async () => {
    const calls: [string, StatusPatch][] = [];
    const sink = new MessageStoreDeliverySink({ update: async (id, patch) => void calls.push([id, patch]) });
    await sink.record(update('accepted'));
    await sink.record(update('sent'));
    await sink.record(update('delivered'));
    await sink.record(update('failed', 'TWILIO_30003'));
    expect(calls).toEqual([
      ['m1', { status: 'sent', errorCode: null, errorText: null }],
      ['m1', { status: 'error', errorCode: 'TWILIO_30003', errorText: 'sms not delivered: undelivered' }],
    ]);
  });

  test('skips a message the store does not have, rethrows anything else', async () => {
    const missing = new MessageStoreDeliverySink({ update: async (id) => Promise.reject(new MessageNotFoundError(id)) });
    await expect(missing.record(update('delivered'))).resolves.toBeUndefined();
    const broken = new MessageStoreDeliverySink({ update: async () => Promise.reject(new Error('disk full')) });
    await expect(broken.record(update('delivered'))).rejects.toThrow('disk full');
  });

  test('fan-out calls every sink in order', async () => {
    const seen: string[] = [];
    const sink = fanOutDeliverySink({ record: async () => void seen.push('a') }, { record: async () => void seen.push('b') });
    await sink.record(update('delivered'));
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('assertDelivered', () => {
  test('pending (retryable) until delivered; failed is permanent', async () => {
    const reg = new InMemorySentRegistry();
    await expect(assertDelivered(reg, 'm1')).rejects.toBeInstanceOf(DeliveryPendingError);
    await reg.reserve('m1', 'sms', at);
    await reg.markAccepted('m1', 'SM1', at);
    const pending = await assertDelivered(reg, 'm1').catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(DeliveryPendingError);
    expect(pending).toMatchObject({ code: 'TIMEOUT', retryable: true, state: 'accepted' });
    await reg.advance('m1', 'delivered', null, at);
    await expect(assertDelivered(reg, 'm1')).resolves.toMatchObject({ state: 'delivered' });

    await reg.reserve('m2', 'sms', at);
    await reg.advance('m2', 'failed', 'TWILIO_30005', at);
    const failed = await assertDelivered(reg, 'm2').catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(DeliveryFailedError);
    expect(failed).toMatchObject({ code: 'PROVIDER', retryable: false, providerErrorCode: 'TWILIO_30005' });
  });
});
