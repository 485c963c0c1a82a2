import { FOLLOW_TIMEOUT_MS } from '../../adapters/shared/followed-inbound';
import { followTimeoutMs } from './follow-timeout';

describe('followTimeoutMs', () => {
  test('blank is the default; a whole number of ms from 1 to an hour is taken as written', () => {
    for (const blank of [undefined, null, '', '  ']) expect(followTimeoutMs(blank)).toBe(FOLLOW_TIMEOUT_MS);
    expect(followTimeoutMs('120000')).toBe(120_000);
    expect(followTimeoutMs(' 1 ')).toBe(1);
    expect(followTimeoutMs(3_600_000)).toBe(3_600_000);
  });

  test('anything else is refused with a message naming the setting', () => {
    for (const bad of ['0', '-5', '1.5', '90s', '3600001', 'abc']) {
      expect(() => followTimeoutMs(bad)).toThrow(/^processingTimeoutMs must be a whole number of milliseconds from 1 to 3600000$/);
    }
  });
});
