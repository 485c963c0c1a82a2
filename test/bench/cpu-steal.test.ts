import { cpuTimes, stealPercent } from './cpu-steal';

describe('cpu steal', () => {
  test('steal is the share of all CPU time between two readings', () => {
    expect(stealPercent({ total: 1000, steal: 10 }, { total: 1400, steal: 110 })).toBe(25);
    expect(stealPercent({ total: 1000, steal: 10 }, { total: 1300, steal: 11 })).toBe(0.3);
  });

  test('unknown when a reading is missing or no time passed', () => {
    expect(stealPercent(null, { total: 1, steal: 0 })).toBeNull();
    expect(stealPercent({ total: 5, steal: 0 }, { total: 5, steal: 0 })).toBeNull();
  });

  test('reads /proc/stat on Linux', () => {
    const now = cpuTimes();
    if (process.platform !== 'linux') {
      console.log('cpu steal: not Linux, /proc/stat not read');
      return;
    }
    expect(now).not.toBeNull();
    expect(now!.total).toBeGreaterThan(0);
    expect(now!.steal).toBeGreaterThanOrEqual(0);
    expect(now!.steal).toBeLessThanOrEqual(now!.total);
  });
});
