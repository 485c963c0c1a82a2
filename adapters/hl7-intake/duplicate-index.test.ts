import { DuplicateIndex } from './duplicate-index';

describe('DuplicateIndex', () => {
  let now = 0;
  const clock = (): number => now;

  beforeEach(() => {
    now = 1000;
  });

  test('an accepted key with the same digest is a duplicate within the window only', async () => {
    const index = new DuplicateIndex(100, clock);
    const first = await index.claim('k', 'd1');
    if (!('ticket' in first)) throw new Error('expected a ticket');
    first.ticket.bind('rec-1');
    first.ticket.accept();

    now += 100;
    expect(await index.claim('k', 'd1')).toEqual({ duplicateOf: 'rec-1' });
    now += 1;
    expect(await index.claim('k', 'd1')).toMatchObject({ reused: false });
  });

  test('a different digest is a new message, flagged as a reused control id', async () => {
    const index = new DuplicateIndex(100, clock);
    const first = await index.claim('k', 'd1');
    if ('ticket' in first) first.ticket.accept();
    expect(await index.claim('k', 'd2')).toMatchObject({ reused: true });
  });

  test('a rejected original lets the resend through; a pending one makes it wait', async () => {
    const index = new DuplicateIndex(100, clock);
    const first = await index.claim('k', 'd');
    if (!('ticket' in first)) throw new Error('expected a ticket');
    let settled = false;
    const second = index.claim('k', 'd').then((c) => ((settled = true), c));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    first.ticket.reject();
    expect(await second).toMatchObject({ reused: false });
  });

  test('disabled with window 0; bounded by max entries, oldest first', async () => {
    const off = new DuplicateIndex(0, clock);
    expect(off.enabled).toBe(false);
    const a = await off.claim('k', 'd');
    if ('ticket' in a) a.ticket.accept();
    expect(await off.claim('k', 'd')).toMatchObject({ reused: false });

    const small = new DuplicateIndex(1000, clock, 2);
    for (const key of ['a', 'b', 'c']) {
      const c = await small.claim(key, 'd');
      if ('ticket' in c) {
        c.ticket.bind(`rec-${key}`);
        c.ticket.accept();
      }
    }
    expect(small.size).toBe(2);
    expect(await small.claim('a', 'd')).toMatchObject({ reused: false });
    expect(await small.claim('c', 'd')).toEqual({ duplicateOf: 'rec-c' });
  });

  test('rejectAll releases waiters', async () => {
    const index = new DuplicateIndex(100, clock);
    await index.claim('k', 'd');
    const waiting = index.claim('k', 'd');
    index.rejectAll();
    expect(await waiting).toMatchObject({ reused: false });
  });
});
