import { GroupCommitter } from './group-commit';

/** A commit the test settles by hand, to hold batches in flight. */
function manualCommit(): { commit: (ops: number[]) => Promise<number[]>; calls: { ops: number[]; settle: (err?: Error) => void }[] } {
  const calls: { ops: number[]; settle: (err?: Error) => void }[] = [];
  const commit = (ops: number[]): Promise<number[]> =>
    new Promise<number[]>((resolve, reject) => {
      calls.push({ ops, settle: (err) => (err ? reject(err) : resolve(ops.map((o) => o * 10))) });
    });
  return { commit, calls };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('GroupCommitter', () => {
  it('keeps one batch in flight by default: writes arriving meanwhile wait and share the next commit', async () => {
    const { commit, calls } = manualCommit();
    const gc = new GroupCommitter<number, number>(commit);
    const a = gc.submit(1);
    await tick();
    expect(calls.map((c) => c.ops)).toEqual([[1]]);
    const b = gc.submit(2);
    const c = gc.submit(3);
    await tick();
    expect(calls).toHaveLength(1);
    calls[0]!.settle();
    await expect(a).resolves.toBe(10);
    await tick();
    expect(calls.map((x) => x.ops)).toEqual([[1], [2, 3]]);
    calls[1]!.settle();
    await expect(Promise.all([b, c])).resolves.toEqual([20, 30]);
  });

  it('hands over up to maxInFlight batches before the first settles, in submission order', async () => {
    const { commit, calls } = manualCommit();
    const gc = new GroupCommitter<number, number>(commit, 2000, 25, 2);
    const results = [gc.submit(1)];
    await tick();
    results.push(gc.submit(2));
    await tick();
    results.push(gc.submit(3), gc.submit(4));
    await tick();
    // Two outstanding: the third batch waits and then takes everything pending.
    expect(calls.map((c) => c.ops)).toEqual([[1], [2]]);
    calls[0]!.settle();
    await tick();
    await tick();
    expect(calls.map((c) => c.ops)).toEqual([[1], [2], [3, 4]]);
    calls[1]!.settle();
    calls[2]!.settle();
    await expect(Promise.all(results)).resolves.toEqual([10, 20, 30, 40]);
  });

  it('fails only the callers whose batch failed', async () => {
    const { commit, calls } = manualCommit();
    const gc = new GroupCommitter<number, number>(commit, 2000, 25, 2);
    const a = gc.submit(1);
    await tick();
    const b = gc.submit(2);
    await tick();
    calls[0]!.settle(new Error('disk full'));
    calls[1]!.settle();
    await expect(a).rejects.toThrow('disk full');
    await expect(b).resolves.toBe(20);
  });

  it('drain and close wait for every batch in flight and everything pending', async () => {
    const { commit, calls } = manualCommit();
    const gc = new GroupCommitter<number, number>(commit, 2000, 25, 2);
    const settled: number[] = [];
    for (const n of [1, 2, 3]) {
      void gc.submit(n).then((r) => settled.push(r));
      await tick();
    }
    let closed = false;
    const closing = gc.close().then(() => (closed = true));
    await tick();
    expect(closed).toBe(false);
    calls[0]!.settle();
    calls[1]!.settle();
    await tick();
    await tick();
    expect(closed).toBe(false);
    expect(calls.map((c) => c.ops)).toEqual([[1], [2], [3]]);
    calls[2]!.settle();
    await closing;
    expect(settled.sort()).toEqual([10, 20, 30]);
    await expect(gc.submit(4)).rejects.toThrow('store is closed');
  });

  it('lets a lazy write wait for company, and flushes it within lazyFlushMs alone', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const { commit, calls } = manualCommit();
      const gc = new GroupCommitter<number, number>(commit, 2000, 25, 2);
      const lazy = gc.submit(1, true);
      await tick();
      expect(calls).toHaveLength(0);
      jest.advanceTimersByTime(25);
      await tick();
      expect(calls.map((c) => c.ops)).toEqual([[1]]);
      calls[0]!.settle();
      await expect(lazy).resolves.toBe(10);
    } finally {
      jest.useRealTimers();
    }
  });
  it('keeps lazy writes queued behind a commit waiting for the next urgent write, not committing them alone', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate'] });
    try {
      const { commit, calls } = manualCommit();
      const gc = new GroupCommitter<number, number>(commit, 2000, 25, 2);
      const first = gc.submit(1);
      await tick();
      const lazy = gc.submit(2, true);
      calls[0]!.settle();
      await expect(first).resolves.toBe(10);
      await tick();
      await tick();
      // The commit returned with only a lazy write pending: it waits.
      expect(calls).toHaveLength(1);
      const urgent = gc.submit(3);
      await tick();
      expect(calls.map((c) => c.ops)).toEqual([[1], [2, 3]]);
      calls[1]!.settle();
      await expect(Promise.all([lazy, urgent])).resolves.toEqual([20, 30]);
      // Alone, it still goes within lazyFlushMs.
      const alone = gc.submit(4, true);
      await tick();
      expect(calls).toHaveLength(2);
      jest.advanceTimersByTime(25);
      await tick();
      expect(calls.map((c) => c.ops)).toEqual([[1], [2, 3], [4]]);
      calls[2]!.settle();
      await expect(alone).resolves.toBe(40);
    } finally {
      jest.useRealTimers();
    }
  });
});
