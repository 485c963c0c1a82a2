import { randomBytes } from 'node:crypto';
import type { Consumer, MessageHandler, MessageQueue, QueueMessage, QueuePolicyInput } from '../../adapters/queue';
import { DeadLetterNotFoundError, QueueClosedError } from '../../adapters/queue';
import type { Escalation } from '../../adapters/queue';
import { IntegrationError } from '../../adapters/shared/errors';
import type { Logger, LogMeta } from '../../adapters/shared/logger';
import { isMessageId } from '../../adapters/store';
import { CANARY_MRN, canaryOru } from '../fixtures/canary';

/**
 * Behaviour every MessageQueue backend must show: embedded (SQLite),
 * RabbitMQ and SQS run this same suite. Timing is asserted only as lower
 * bounds (a retry never comes before its backoff), never as upper bounds,
 * so a slow machine cannot make it flaky; waits are bounded polls.
 */
export interface QueueContractHarness {
  /** Opens an adapter on the backend under test; called once per test, and again where a test needs a second process's view. */
  open(logger: Logger): Promise<MessageQueue>;
  /** A queue name no other test or run uses. */
  uniqueName(): string;
  /** False for the in-memory test double: nothing outlives the adapter, so the durability test is skipped. */
  durable?: boolean;
}

/** Timer resolution and clock skew between the test and the broker. */
const TOLERANCE_MS = 25;
const FAST_BACKOFF = { minMs: 200, maxMs: 2000, factor: 2, jitter: 0 };

class Permanent extends IntegrationError {
  constructor(message: string, code: 'NACK' | 'PROVIDER' = 'NACK') {
    super(message, code, false);
  }
}
class Transient extends IntegrationError {
  constructor(message: string) {
    super(message, 'TIMEOUT', true);
  }
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function captureLogger(lines: string[]): Logger {
  const log = (level: string) => (message: string, meta?: LogMeta): void => {
    lines.push(JSON.stringify({ level, message, ...meta }));
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

export function describeMessageQueueContract(name: string, harness: QueueContractHarness): void {
  describe(`MessageQueue contract: ${name}`, () => {
    let queue: MessageQueue;
    let logs: string[];
    const opened: MessageQueue[] = [];
    const names = new Map<string, QueuePolicyInput>();
    const consumers: Consumer[] = [];

    const open = async (): Promise<MessageQueue> => {
      const q = await harness.open(captureLogger(logs));
      opened.push(q);
      return q;
    };
    const declare = async (policy: QueuePolicyInput, q: MessageQueue = queue): Promise<string> => {
      const n = harness.uniqueName();
      names.set(n, policy);
      await q.declareQueue(n, policy);
      return n;
    };
    const consume = async (q: string, handler: MessageHandler, options: Parameters<MessageQueue['consume']>[2] = {}, on: MessageQueue = queue): Promise<Consumer> => {
      const c = await on.consume(q, handler, options);
      consumers.push(c);
      return c;
    };

    beforeEach(async () => {
      logs = [];
      queue = await open();
    });

    afterEach(async () => {
      for (const c of consumers.splice(0)) await c.close({ drainTimeoutMs: 0 });
      for (const q of opened.splice(0)) await q.close();
      // A fresh adapter, told each queue's policy, removes the queues and their broker companions.
      const cleaner = await harness.open(captureLogger(logs));
      for (const [n, policy] of names) {
        await cleaner.declareQueue(n, policy);
        await cleaner.deleteQueue(n);
      }
      names.clear();
      await cleaner.close();
      // No log line, at any level, may carry message content.
      expect(logs.filter((l) => l.includes('CANARY'))).toEqual([]);
    });

    test('delivers what was enqueued: id, key, body bytes, headers, first attempt, deadline', async () => {
      const q = await declare({ maxAgeMs: 3_600_000 });
      const id = '01900000-0000-7000-8000-0000000000a1';
      const body = Buffer.concat([Buffer.from(canaryOru('CTRL-1')), Buffer.from([0x00, 0xff, 0x1c, 0x0d])]);
      const before = Date.now();
      const receipt = await queue.enqueue(q, { id, key: 'pk-1', body, headers: { type: 'ORU^R01', controlId: 'CTRL-1' } });
      expect(receipt).toEqual({ id, queue: q });
      const got: QueueMessage[] = [];
      await consume(q, async (m) => void got.push(m));
      await waitFor('the delivery', () => got.length === 1);
      const m = got[0]!;
      expect(m.id).toBe(id);
      expect(m.queue).toBe(q);
      expect(m.key).toBe('pk-1');
      expect(m.body.equals(body)).toBe(true);
      expect(m.headers).toEqual({ type: 'ORU^R01', controlId: 'CTRL-1' });
      expect(m.attempts).toBe(1);
      expect(m.history).toEqual([]);
      expect(m.firstEnqueuedAt.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(m.firstEnqueuedAt.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
      expect(m.deadlineAt!.getTime() - m.enqueuedAt.getTime()).toBe(3_600_000);
      await waitFor('the ack to empty the queue', async () => {
        const s = await queue.stats(q);
        return s.ready + s.inFlight + s.delayed + s.dead === 0;
      });
    });

    test('an enqueue without an id gets a UUIDv7 hub message id', async () => {
      const q = await declare({});
      const receipt = await queue.enqueue(q, { body: 'x' });
      expect(isMessageId(receipt.id)).toBe(true);
      const got: string[] = [];
      await consume(q, async (m) => void got.push(m.id));
      await waitFor('the delivery', () => got.length === 1);
      expect(got).toEqual([receipt.id]);
    });

    test('keeps strict FIFO per key, across a retry, one message per key at a time', async () => {
      const q = await declare({ ordering: 'key', concurrency: 4, prefetch: 8, backoff: FAST_BACKOFF, maxAttempts: 5 });
      const keys = ['pk-A', 'pk-B', 'pk-C'];
      for (let i = 0; i < 5; i++) for (const key of keys) await queue.enqueue(q, { key, body: `${key}:${i}`, headers: { seq: String(i) } });
      const calls: Record<string, string[]> = { 'pk-A': [], 'pk-B': [], 'pk-C': [] };
      const inFlight = new Map<string, number>();
      let overlap = 0;
      let done = 0;
      await consume(q, async (m) => {
        const key = m.key!;
        inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
        if (inFlight.get(key)! > 1) overlap++;
        calls[key]!.push(`${m.headers.seq}@${m.attempts}`);
        await new Promise((r) => setTimeout(r, 5 + Math.floor(Math.random() * 10)));
        inFlight.set(key, inFlight.get(key)! - 1);
        if (key === 'pk-A' && m.headers.seq === '0' && m.attempts === 1) throw new Transient('destination busy for message');
        done++;
      });
      await waitFor('15 messages handled', () => done === 15);
      expect(overlap).toBe(0);
      expect(calls['pk-A']).toEqual(['0@1', '0@2', '1@1', '2@1', '3@1', '4@1']);
      expect(calls['pk-B']).toEqual(['0@1', '1@1', '2@1', '3@1', '4@1']);
      expect(calls['pk-C']).toEqual(['0@1', '1@1', '2@1', '3@1', '4@1']);
    });

    test('ordered queue: a dead-lettered message stops blocking its key', async () => {
      const q = await declare({ ordering: 'key', maxAttempts: 2, backoff: { ...FAST_BACKOFF, minMs: 100 } });
      for (const body of ['poison', 'second', 'third']) await queue.enqueue(q, { key: 'pk-X', body });
      const handled: string[] = [];
      await consume(q, async (m) => {
        handled.push(`${m.body.toString()}@${m.attempts}`);
        if (m.body.toString() === 'poison') throw new Transient('cannot deliver');
      });
      await waitFor('the rest of the key', () => handled.length === 4);
      expect(handled).toEqual(['poison@1', 'poison@2', 'second@1', 'third@1']);
      expect((await queue.stats(q)).dead).toBe(1);
    });

    test('parallel queue: a failing message does not hold back the rest', async () => {
      const q = await declare({ concurrency: 2, prefetch: 4, backoff: { ...FAST_BACKOFF, minMs: 300 }, maxAttempts: 3 });
      const bad = await queue.enqueue(q, { body: 'bad' });
      for (let i = 0; i < 10; i++) await queue.enqueue(q, { body: `good ${i}` });
      const good = new Set<string>();
      let badCalls = 0;
      await consume(q, async (m) => {
        if (m.id === bad.id) {
          badCalls++;
          throw new Transient('still failing');
        }
        good.add(m.body.toString());
      });
      await waitFor('all good messages', () => good.size === 10);
      expect(badCalls).toBeLessThan(3);
      await waitFor('the bad message to be dead-lettered', async () => (await queue.stats(q)).dead === 1);
      expect(badCalls).toBe(3);
    });

    test('retries by policy: attempts count up, each wait is at least the backoff, id and key unchanged', async () => {
      const q = await declare({ backoff: FAST_BACKOFF, maxAttempts: 5 });
      const { id } = await queue.enqueue(q, { key: 'pk-R', body: 'retry me' });
      const seen: { id: string; key: string | null; attempts: number; at: number; history: QueueMessage['history'] }[] = [];
      await consume(q, async (m) => {
        seen.push({ id: m.id, key: m.key, attempts: m.attempts, at: Date.now(), history: m.history });
        if (m.attempts < 3) throw new Transient(`attempt ${m.attempts} of message ${m.id} timed out`);
      });
      await waitFor('the third attempt', () => seen.length === 3);
      expect(seen.map((s) => s.attempts)).toEqual([1, 2, 3]);
      expect(new Set(seen.map((s) => s.id))).toEqual(new Set([id]));
      expect(seen.every((s) => s.key === 'pk-R')).toBe(true);
      expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(200 - TOLERANCE_MS);
      expect(seen[2]!.at - seen[1]!.at).toBeGreaterThanOrEqual(400 - TOLERANCE_MS);
      const history = seen[2]!.history;
      expect(history).toHaveLength(2);
      expect(history.map((h) => h.event === 'failed' && [h.attempt, h.code, h.retryable, h.error])).toEqual([
        [1, 'TIMEOUT', true, 'Transient'],
        [2, 'TIMEOUT', true, 'Transient'],
      ]);
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toHaveLength(3);
    });

    test('a permanent error goes straight to the dead letters, with the error and no content', async () => {
      const q = await declare({ backoff: FAST_BACKOFF, maxAttempts: 5 });
      const dead: string[] = [];
      queue.on('deadLettered', (info) => dead.push(`${info.id}:${info.reason}:${info.errorCode}`));
      const { id } = await queue.enqueue(q, { key: 'pk-P', body: canaryOru('CTRL-P'), headers: { controlId: 'CTRL-P' } });
      let calls = 0;
      await consume(q, async () => {
        calls++;
        throw new Permanent('AR ACK for control ID CTRL-P');
      });
      await waitFor('the dead letter', async () => (await queue.stats(q)).dead === 1);
      expect(calls).toBe(1);
      const dl = await queue.getDeadLetter(q, id);
      expect(dl).toMatchObject({ id, queue: q, key: 'pk-P', reason: 'permanent', attempts: 1, headers: { controlId: 'CTRL-P' } });
      expect(dl!.lastError).toMatchObject({ event: 'failed', attempt: 1, code: 'NACK', retryable: false, error: 'Permanent', message: 'AR ACK for control ID CTRL-P' });
      expect(dl!.history).toHaveLength(1);
      expect(dl!.body).toBeUndefined();
      expect(dl!.size).toBe(Buffer.byteLength(canaryOru('CTRL-P')));
      expect(dead).toEqual([`${id}:permanent:NACK`]);
    });

    test("a foreign error's text is not kept (it may quote the message)", async () => {
      const q = await declare({ maxAttempts: 1 });
      const { id } = await queue.enqueue(q, { body: canaryOru('CTRL-F') });
      await consume(q, async () => {
        throw Object.assign(new TypeError(`cannot map PID-3 ${CANARY_MRN}`), { retryable: false });
      });
      await waitFor('the dead letter', async () => (await queue.stats(q)).dead === 1);
      const dl = await queue.getDeadLetter(q, id);
      expect(dl!.lastError).toMatchObject({ code: 'UNKNOWN', retryable: false, error: 'TypeError', message: null });
      expect(JSON.stringify(dl)).not.toContain('CANARY');
    });

    test('dead-letters after maxAttempts with the whole history', async () => {
      const q = await declare({ backoff: { ...FAST_BACKOFF, minMs: 100 }, maxAttempts: 3 });
      const { id } = await queue.enqueue(q, { body: 'always fails' });
      let calls = 0;
      await consume(q, async (m) => {
        calls++;
        throw new Transient(`attempt ${m.attempts} timed out`);
      });
      await waitFor('the dead letter', async () => (await queue.stats(q)).dead === 1);
      expect(calls).toBe(3);
      const dl = await queue.getDeadLetter(q, id);
      expect(dl!.reason).toBe('max-attempts');
      expect(dl!.attempts).toBe(3);
      expect(dl!.history.map((h) => h.event === 'failed' && h.attempt)).toEqual([1, 2, 3]);
      expect(dl!.lastError).toMatchObject({ attempt: 3, code: 'TIMEOUT', message: 'attempt 3 timed out' });
    });

    test('replays a dead letter with an edited body: same id, fresh attempts, history kept', async () => {
      const q = await declare({ maxAttempts: 3, backoff: FAST_BACKOFF });
      const { id } = await queue.enqueue(q, { key: 'pk-E', body: 'v1', headers: { controlId: 'C-E' } });
      const seen: QueueMessage[] = [];
      await consume(q, async (m) => {
        seen.push(m);
        if (m.body.toString() === 'v1') throw new Permanent('AR ACK for control ID C-E');
      });
      await waitFor('the dead letter', async () => (await queue.stats(q)).dead === 1);
      const inspected = await queue.getDeadLetter(q, id, { includeBody: true });
      expect(inspected!.body!.toString()).toBe('v1');
      await queue.replayDeadLetter(q, id, { body: Buffer.from('v2'), by: 'ana' });
      await waitFor('the replayed delivery', () => seen.length === 2);
      const again = seen[1]!;
      expect(again.id).toBe(id);
      expect(again.key).toBe('pk-E');
      expect(again.body.toString()).toBe('v2');
      expect(again.headers).toEqual({ controlId: 'C-E' });
      expect(again.attempts).toBe(1);
      expect(again.firstEnqueuedAt.getTime()).toBe(seen[0]!.firstEnqueuedAt.getTime());
      expect(again.history.map((h) => h.event)).toEqual(['failed', 'replayed']);
      expect(again.history[1]).toMatchObject({ event: 'replayed', edited: true, by: 'ana' });
      await waitFor('the queue to drain', async () => {
        const s = await queue.stats(q);
        return s.dead + s.ready + s.inFlight === 0;
      });
      expect(await queue.getDeadLetter(q, id)).toBeNull();
      await expect(queue.replayDeadLetter(q, id)).rejects.toBeInstanceOf(DeadLetterNotFoundError);
    });

    test('lists, pages, inspects, discards and bulk-replays dead letters by filter', async () => {
      const q = await declare({ maxAttempts: 1 });
      const ids: string[] = [];
      for (const code of ['NACK', 'PROVIDER', 'NACK'] as const) ids.push((await queue.enqueue(q, { body: `dl ${code}`, headers: { code } })).id);
      let replayed = 0;
      await consume(q, async (m) => {
        if (m.attempts === 1 && m.history.length === 0) throw new Permanent(`rejected ${m.id}`, m.headers.code as 'NACK' | 'PROVIDER');
        replayed++;
      });
      await waitFor('three dead letters', async () => (await queue.stats(q)).dead === 3);
      const all = await queue.listDeadLetters(q);
      expect(all.items.map((d) => d.id).sort()).toEqual([...ids].sort());
      expect(all.items.every((d) => d.body === undefined && d.reason === 'permanent')).toBe(true);
      expect(all.nextCursor).toBeNull();
      const nack = await queue.listDeadLetters(q, { errorCode: 'NACK' });
      expect(nack.items.map((d) => d.id).sort()).toEqual([ids[0], ids[2]].sort());
      const first = await queue.listDeadLetters(q, { limit: 2 });
      expect(first.items).toHaveLength(2);
      const second = await queue.listDeadLetters(q, { limit: 2, cursor: first.nextCursor! });
      expect(second.items).toHaveLength(1);
      expect(new Set([...first.items, ...second.items].map((d) => d.id)).size).toBe(3);
      expect((await queue.getDeadLetter(q, ids[1]!, { includeBody: true }))!.body!.toString()).toBe('dl PROVIDER');
      await queue.discardDeadLetter(q, ids[1]!);
      await expect(queue.discardDeadLetter(q, ids[1]!)).rejects.toBeInstanceOf(DeadLetterNotFoundError);
      expect(await queue.replayDeadLetters(q, { errorCode: 'NACK' }, { by: 'ops' })).toBe(2);
      await waitFor('both replays handled', () => replayed === 2);
      await waitFor('no dead letters left', async () => (await queue.listDeadLetters(q)).items.length === 0);
    });

    test('escalates as the deadline nears and dead-letters once it has passed', async () => {
      const q = await declare({ maxAgeMs: 1500, deadlineWarningMs: 1000, backoff: FAST_BACKOFF, maxAttempts: 100 });
      const escalations: Escalation[] = [];
      const events: Escalation[] = [];
      queue.on('escalation', (e) => events.push(e));
      const { id } = await queue.enqueue(q, { key: 'pk-D', body: 'late' });
      let calls = 0;
      await consume(
        q,
        async () => {
          calls++;
          throw new Transient('destination down');
        },
        { onEscalation: (e) => escalations.push(e) },
      );
      await waitFor('the dead letter', async () => (await queue.stats(q)).dead === 1);
      expect(escalations.map((e) => `${e.kind}:${e.action}`)).toEqual(['approaching:retry', 'expired:dead-letter']);
      expect(events).toEqual(escalations);
      const expired = escalations[1]!;
      expect(expired).toMatchObject({ queue: q, id, key: 'pk-D' });
      expect(expired.deadlineAt.getTime() - expired.enqueuedAt.getTime()).toBe(1500);
      const dl = await queue.getDeadLetter(q, id);
      expect(dl!.reason).toBe('deadline');
      expect(dl!.attempts).toBe(calls);
      expect(calls).toBeLessThan(100);
      expect(dl!.deadAt.getTime()).toBeGreaterThanOrEqual(dl!.enqueuedAt.getTime() + 1500 - TOLERANCE_MS);
    });

    test('a message whose consumer goes away mid-handler is delivered again with the same id', async () => {
      const q = await declare({ backoff: FAST_BACKOFF });
      const { id } = await queue.enqueue(q, { body: 'in flight' });
      let firstSignal: AbortSignal | undefined;
      const first = await consume(q, (_m, ctx) => {
        firstSignal = ctx.signal;
        return new Promise<void>(() => undefined);
      });
      await waitFor('the first delivery', () => firstSignal !== undefined);
      await first.close({ drainTimeoutMs: 0 });
      expect(firstSignal!.aborted).toBe(true);
      const again: QueueMessage[] = [];
      await consume(q, async (m) => void again.push(m));
      await waitFor('the redelivery', () => again.length === 1);
      expect(again[0]!.id).toBe(id);
      expect(again[0]!.body.toString()).toBe('in flight');
      expect(again[0]!.attempts).toBeGreaterThanOrEqual(1);
    });

    if (harness.durable === false) {
      process.stderr.write('[skip] "closing the adapter with a handler still running…": an in-memory queue has no next process to hand the message to\n');
    }
    (harness.durable === false ? test.skip : test)('closing the adapter with a handler still running gives the message back to the next process', async () => {
      const q = await declare({});
      const { id } = await queue.enqueue(q, { body: 'held at close' });
      let started = false;
      await consume(q, () => {
        started = true;
        return new Promise<void>(() => undefined);
      });
      await waitFor('the delivery', () => started);
      const t0 = Date.now();
      await queue.close();
      expect(Date.now() - t0).toBeLessThan(10_000);
      await queue.close();
      await expect(queue.enqueue(q, { body: 'late' })).rejects.toBeInstanceOf(QueueClosedError);
      const other = await open();
      const again: string[] = [];
      await consume(q, async (m) => void again.push(m.id), {}, other);
      await waitFor('the redelivery', () => again.length === 1);
      expect(again).toEqual([id]);
    });

    test('prefetch bounds what a consumer holds; concurrency bounds running handlers', async () => {
      const q = await declare({});
      for (let i = 0; i < 30; i++) await queue.enqueue(q, { body: `m${i}` });
      let running = 0;
      let maxRunning = 0;
      let handled = 0;
      let open = false;
      await consume(
        q,
        async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await waitFor('the gate to open', () => open, 30_000);
          running--;
          handled++;
        },
        { concurrency: 3, prefetch: 5 },
      );
      await waitFor('three handlers running', () => running === 3);
      await new Promise((r) => setTimeout(r, 300));
      expect(maxRunning).toBe(3);
      const s = await queue.stats(q);
      expect(s.ready).toBeGreaterThanOrEqual(25);
      open = true;
      await waitFor('all 30 handled', () => handled === 30);
      expect(maxRunning).toBe(3);
    });

    test('stats: ready, delayed or in flight, dead, and the age of the oldest waiting message', async () => {
      const q = await declare({ backoff: { minMs: 30_000, maxMs: 60_000, factor: 2, jitter: 0 }, maxAttempts: 5 });
      const empty = await queue.stats(q);
      expect(empty).toMatchObject({ queue: q, backend: queue.backend, ready: 0, delayed: 0, inFlight: 0, dead: 0 });
      expect(empty.oldestWaitingAgeMs).toBeNull();
      await queue.enqueue(q, { body: 'retry later' });
      await queue.enqueue(q, { body: 'dies' });
      await queue.enqueue(q, { body: 'ok' });
      await new Promise((r) => setTimeout(r, 100));
      const waiting = await queue.stats(q);
      expect(waiting.ready).toBe(3);
      if (waiting.oldestWaitingAgeMs !== null) expect(waiting.oldestWaitingAgeMs).toBeGreaterThanOrEqual(100 - TOLERANCE_MS);
      const handled: string[] = [];
      await consume(q, async (m) => {
        handled.push(m.body.toString());
        if (m.body.toString() === 'retry later') throw new Transient('busy');
        if (m.body.toString() === 'dies') throw new Permanent('rejected');
      });
      await waitFor('all three handled', () => handled.length === 3);
      await waitFor('the counts to settle', async () => {
        const s = await queue.stats(q);
        return s.ready === 0 && s.dead === 1 && s.delayed + s.inFlight === 1;
      });
    });

    test('a handler that overruns its timeout fails the attempt and sees its signal aborted', async () => {
      const q = await declare({ handlerTimeoutMs: 300, backoff: { ...FAST_BACKOFF, minMs: 100 }, maxAttempts: 3 });
      await queue.enqueue(q, { body: 'slow' });
      const seen: QueueMessage[] = [];
      let aborted = false;
      await consume(q, async (m, ctx) => {
        seen.push(m);
        if (m.attempts === 1) {
          await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
          aborted = ctx.signal.aborted;
        }
      });
      await waitFor('the second attempt', () => seen.length === 2);
      expect(aborted).toBe(true);
      expect(seen[1]!.history[0]).toMatchObject({ event: 'failed', attempt: 1, code: 'TIMEOUT', retryable: true, error: 'HandlerTimeoutError' });
    });

    test('refuses bad input with typed errors that do not quote it', async () => {
      const q = await declare({});
      await expect(queue.enqueue(q, { body: 'x', key: 'has space' })).rejects.toMatchObject({ code: 'PARSE', retryable: false });
      await expect(queue.enqueue(q, { body: 'x', headers: { 'bad name!': 'v' } })).rejects.toMatchObject({ code: 'PARSE' });
      await expect(queue.enqueue('no/slashes', { body: 'x' })).rejects.toMatchObject({ code: 'CONFIG' });
      await expect(queue.declareQueue(harness.uniqueName(), { maxAttempts: 0 })).rejects.toMatchObject({ code: 'CONFIG' });
      const err = await queue.enqueue(q, { body: 'x', key: `${CANARY_MRN} x` }).catch((e: Error) => e);
      expect(String((err as Error).message)).not.toContain('CANARY');
    });

    test('many producers at once: every enqueue is delivered exactly once when nothing fails', async () => {
      const q = await declare({ concurrency: 8, prefetch: 32 });
      const n = 300;
      const sent = await Promise.all(Array.from({ length: n }, (_, i) => queue.enqueue(q, { body: randomBytes(64), headers: { i: String(i) } })));
      const seen = new Map<string, number>();
      await consume(q, async (m) => void seen.set(m.id, (seen.get(m.id) ?? 0) + 1));
      await waitFor(`${n} deliveries`, () => seen.size === n, 30_000);
      expect(new Set(sent.map((r) => r.id))).toEqual(new Set(seen.keys()));
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
    });
  });
}
