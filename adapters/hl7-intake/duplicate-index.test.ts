import { DuplicateIndex } from './duplicate-index';

const d = (text: string): Buffer => Buffer.from(text);

describe('DuplicateIndex', () => {
  let now = 0;
  const clock = (): number => now;

  beforeEach(() => {
    now = 1000;
  });

  test('an accepted key with the same digest is a duplicate within the window only', async () => {
    const index = new DuplicateIndex(100, clock);
    const first = await index.claim('k', d('d1'));
    if (!('ticket' in first)) throw new Error('expected a ticket');
    first.ticket.bind('rec-1');
    first.ticket.accept();

    now += 100;
    expect(await index.claim('k', d('d1'))).toEqual({ duplicateOf: 'rec-1' });
    now += 1;
    expect(await index.claim('k', d('d1'))).toMatchObject({ reused: false });
  });

  test('a different digest is a new message, flagged as a reused control id', async () => {
    const index = new DuplicateIndex(100, clock);
    const first = await index.claim('k', d('d1'));
    if ('ticket' in first) first.ticket.accept();
    expect(await index.claim('k', d('d2'))).toMatchObject({ reused: true });
  });

  test('a rejected original lets the resend through; a pending one makes it wait', async () => {
    const index = new DuplicateIndex(100, clock);
    const first = await index.claim('k', d('d'));
    if (!('ticket' in first)) throw new Error('expected a ticket');
    let settled = false;
    const second = Promise.resolve(index.claim('k', d('d'))).then((c) => ((settled = true), c));
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    first.ticket.reject();
    expect(await second).toMatchObject({ reused: false });
  });

  test('disabled with window 0; bounded by max entries, oldest first', async () => {
    const off = new DuplicateIndex(0, clock);
    expect(off.enabled).toBe(false);
    const a = await off.claim('k', d('d'));
    if ('ticket' in a) a.ticket.accept();
    expect(await off.claim('k', d('d'))).toMatchObject({ reused: false });

    const small = new DuplicateIndex(1000, clock, 2);
    for (const key of ['a', 'b', 'c']) {
      const c = await small.claim(key, d('d'));
      if ('ticket' in c) {
        c.ticket.bind(`rec-${key}`);
        c.ticket.accept();
      }
    }
    expect(small.size).toBe(2);
    expect(await small.claim('a', d('d'))).toMatchObject({ reused: false });
    expect(await small.claim('c', d('d'))).toEqual({ duplicateOf: 'rec-c' });
  });

  test('rejectAll releases waiters', async () => {
    const index = new DuplicateIndex(100, clock);
    await index.claim('k', d('d'));
    const waiting = index.claim('k', d('d'));
    index.rejectAll();
    expect(await waiting).toMatchObject({ reused: false });
  });

  test('keeps thousands of entries as the ring grows: tickets, waiters and record ids survive the growth', async () => {
    const index = new DuplicateIndex(60_000, clock);
    const first = index.claim('pending-key', d('p'));
    if (!('ticket' in first)) throw new Error('expected a ticket');
    const retransmission = Promise.resolve(index.claim('pending-key', d('p')));
    for (let n = 0; n < 5000; n++) {
      const c = index.claim(`k${n}`, d(`digest-${n}`));
      if (!('ticket' in c)) throw new Error('expected a ticket');
      c.ticket.bind(n === 4321 ? `record-with-a-very-long-identifier-from-another-store-${'x'.repeat(40)}` : `rec-${n}`);
      if (n % 10 === 3) c.ticket.reject();
      else c.ticket.accept();
    }
    first.ticket.bind('rec-pending');
    first.ticket.accept();
    expect(await retransmission).toEqual({ duplicateOf: 'rec-pending' });
    expect(await index.claim('k0', d('digest-0'))).toEqual({ duplicateOf: 'rec-0' });
    expect(await index.claim('k4999', d('digest-4999'))).toEqual({ duplicateOf: 'rec-4999' });
    expect(await index.claim('k4321', d('digest-4321'))).toEqual({ duplicateOf: `record-with-a-very-long-identifier-from-another-store-${'x'.repeat(40)}` });
    expect(await index.claim('k13', d('digest-13'))).toMatchObject({ reused: false });
    expect(await index.claim('k14', d('other'))).toMatchObject({ reused: true });
    expect(index.size).toBe(1 + 4500 + 1);
  });

  test('at the bound the oldest go first, also after the window expired some; a waiter on a dropped entry goes on as new', async () => {
    const index = new DuplicateIndex(1000, clock, 3);
    const pending = index.claim('a', d('x'));
    if (!('ticket' in pending)) throw new Error('expected a ticket');
    const waiting = Promise.resolve(index.claim('a', d('x')));
    for (const key of ['b', 'c', 'e']) {
      const c = index.claim(key, d('x'));
      if ('ticket' in c) {
        c.ticket.bind(`rec-${key}`);
        c.ticket.accept();
      }
    }
    expect(await waiting).toMatchObject({ reused: false });
    expect(index.size).toBe(3);
    now += 1001;
    expect(await index.claim('e', d('x'))).toMatchObject({ reused: false });
    expect(index.size).toBe(1);
  });
});
