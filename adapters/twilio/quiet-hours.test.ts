import { ProviderConfigError } from '../phi-guard/errors';
import { quietHoursDecision } from './quiet-hours';

const NY = 'America/New_York';

describe('quietHoursDecision', () => {
  test.each([
    ['mid-afternoon', '2026-06-10T18:00:00Z', NY, { action: 'send-now' }],
    ['20:59 local', '2026-06-11T00:59:00Z', NY, { action: 'send-now' }],
    ['21:00 local: quiet until 08:00 tomorrow', '2026-06-11T01:00:00Z', NY, { action: 'defer', until: new Date('2026-06-11T12:00:00Z') }],
    ['23:30 local', '2026-06-11T03:30:00Z', NY, { action: 'defer', until: new Date('2026-06-11T12:00:00Z') }],
    ['03:00 local: quiet until 08:00 today', '2026-06-11T07:00:00Z', NY, { action: 'defer', until: new Date('2026-06-11T12:00:00Z') }],
    ['08:00 local', '2026-06-11T12:00:00Z', NY, { action: 'send-now' }],
    ['a half-hour zone (India, 22:00)', '2026-06-10T16:30:00Z', 'Asia/Kolkata', { action: 'defer', until: new Date('2026-06-11T02:30:00Z') }],
    ['the other side of the date line (Auckland, 06:00)', '2026-06-10T18:00:00Z', 'Pacific/Auckland', { action: 'defer', until: new Date('2026-06-10T20:00:00Z') }],
  ])('%s', (_label, now, zone, expected) => {
    expect(quietHoursDecision(new Date(now), zone)).toEqual(expected);
  });

  test('a night across the spring-forward change ends at 08:00 daylight time', () => {
    // 2026-03-08 in New York: 02:00 EST jumps to 03:00 EDT.
    expect(quietHoursDecision(new Date('2026-03-08T04:00:00Z'), NY)).toEqual({ action: 'defer', until: new Date('2026-03-08T12:00:00Z') });
  });

  test('a night across the fall-back change ends at 08:00 standard time', () => {
    // 2026-11-01 in New York: 02:00 EDT falls back to 01:00 EST.
    expect(quietHoursDecision(new Date('2026-11-01T03:00:00Z'), NY)).toEqual({ action: 'defer', until: new Date('2026-11-01T13:00:00Z') });
  });

  test('a window end that the clock skips is moved past the gap, never inside the window', () => {
    const d = quietHoursDecision(new Date('2026-03-08T05:00:00Z'), NY, { start: '00:00', end: '02:30' });
    // 02:30 does not exist that night; 03:30 EDT (07:30Z) is the later reading of it.
    expect(d).toEqual({ action: 'defer', until: new Date('2026-03-08T07:30:00Z') });
  });

  test('a same-day window, and no window when start equals end', () => {
    const w = { start: '12:00', end: '13:30' };
    expect(quietHoursDecision(new Date('2026-06-10T16:15:00Z'), NY, w)).toEqual({ action: 'defer', until: new Date('2026-06-10T17:30:00Z') });
    expect(quietHoursDecision(new Date('2026-06-10T17:30:00Z'), NY, w)).toEqual({ action: 'send-now' });
    expect(quietHoursDecision(new Date('2026-06-11T03:00:00Z'), NY, { start: '21:00', end: '21:00' })).toEqual({ action: 'send-now' });
  });

  test('refuses unknown zones and malformed times with a config error', () => {
    expect(() => quietHoursDecision(new Date(), 'Mars/Olympus_Mons')).toThrow(ProviderConfigError);
    expect(() => quietHoursDecision(new Date(), NY, { start: '9pm', end: '08:00' })).toThrow(ProviderConfigError);
  });
});
