import { RecoveryPasses } from './recovery-passes';

/** Timers that fire only when the test says so. */
function heldTimers(): { setTimeout(fn: () => void, ms: number): number; clearTimeout(h: number): void; held: Map<number, { fn: () => void; ms: number }> } {
  const held = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    held,
    setTimeout: (fn, ms) => {
      held.set(next, { fn, ms });
      return next++;
    },
    clearTimeout: (h) => void held.delete(h),
  };
}

describe('RecoveryPasses', () => {
  test('runs passes one after another, never side by side, and a failing pass does not stop the next', async () => {
    const log: string[] = [];
    let n = 0;
    let release: () => void = () => undefined;
    const passes = new RecoveryPasses(
      async () => {
        const mine = ++n;
        log.push(`start ${mine}`);
        if (mine === 1) await new Promise<void>((resolve) => (release = resolve));
        log.push(`end ${mine}`);
        if (mine === 2) throw new Error('store down');
        return mine;
      },
      heldTimers(),
      () => undefined,
    );
    const first = passes.run();
    const second = passes.run();
    const third = passes.run();
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['start 1']);
    release();
    await expect(first).resolves.toBe(1);
    await expect(second).rejects.toThrow('store down');
    await expect(third).resolves.toBe(3);
    expect(log).toEqual(['start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  test('a later pass replaces one already scheduled, reports its failure, and none is scheduled once stopped', async () => {
    const timers = heldTimers();
    const errors: unknown[] = [];
    const passes = new RecoveryPasses(async () => Promise.reject(new Error('nope')), timers, (err) => errors.push(err));
    passes.later(5000);
    passes.later(-10);
    expect([...timers.held.values()].map((t) => t.ms)).toEqual([0]);
    const [id, due] = [...timers.held][0]!;
    timers.held.delete(id);
    due.fn();
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toEqual([new Error('nope')]);
    passes.later(1000);
    passes.stop();
    expect(timers.held.size).toBe(0);
    passes.later(1000);
    expect(timers.held.size).toBe(0);
  });
});
