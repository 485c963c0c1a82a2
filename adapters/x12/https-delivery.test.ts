import { HttpsX12Delivery } from './https-delivery';
import { HttpTimeout } from './https-request';
import type { HttpRequest } from './https-request';

function delivery(answers: (number | Error)[], maxAttempts = 3): { d: HttpsX12Delivery; calls: number; sleeps: number[] } {
  const state = { calls: 0, sleeps: [] as number[] };
  const request: HttpRequest = async () => {
    const a = answers[state.calls++];
    if (a instanceof Error) throw a;
    return { status: a ?? 200, headers: {}, body: '' };
  };
  const d = new HttpsX12Delivery({ url: 'https://ch.example/submit', maxAttempts, backoff: { initialDelayMs: 100, factor: 2, jitter: 0 } }, { request, sleep: async (ms) => void state.sleeps.push(ms), random: () => 0 });
  return Object.defineProperties({ d, calls: 0, sleeps: state.sleeps }, { calls: { get: () => state.calls } });
}

describe('HttpsX12Delivery status mapping', () => {
  test.each([
    [429, 'RATE_LIMITED', true],
    [408, 'TIMEOUT', true],
    [409, 'PROVIDER', false],
    [403, 'AUTH', false],
    [500, 'PROVIDER', true],
  ])('HTTP %i → %s (retryable %s)', async (status, code, retryable) => {
    const t = delivery([status, status, status]);
    await expect(t.d.deliver('f.837', 'x')).rejects.toMatchObject({ code, retryable, status });
    expect(t.calls).toBe(retryable ? 3 : 1);
    expect(t.sleeps).toEqual(retryable ? [100, 200] : []);
  });

  test('a timeout is a retryable TIMEOUT; a reset is CONNECT_FAILED', async () => {
    await expect(delivery([new HttpTimeout(10)], 1).d.deliver('f.837', 'x')).rejects.toMatchObject({ code: 'TIMEOUT', retryable: true });
    await expect(delivery([Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })], 1).d.deliver('f.837', 'x')).rejects.toMatchObject({ code: 'CONNECT_FAILED', retryable: true });
  });
});
