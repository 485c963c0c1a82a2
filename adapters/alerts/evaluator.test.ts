import { CANARY_MRN, CANARY_NAME } from '../../test/fixtures/canary';
import type { LogMeta, Logger } from '../shared/logger';
import { AlertEvaluator } from './evaluator';
import { parseAlertRules } from './rules';
import type { AlertEvent, AlertSources } from './types';

type QueueStats = Awaited<ReturnType<AlertSources['queueStats']>>;

/** Sources the test sets by hand; `counts` answers by endpoint and window start. */
class FakeSources implements AlertSources {
  counts = new Map<string, { total: number; errored: number }>();
  endpointList: { name: string; state: string }[] = [];
  queues = new Map<string, QueueStats | Error>();
  countCalls: { endpoint: string | null; from: Date }[] = [];

  async messageCounts(endpoint: string | null, from: Date): Promise<{ total: number; errored: number }> {
    this.countCalls.push({ endpoint, from });
    return this.counts.get(endpoint ?? '*') ?? { total: 0, errored: 0 };
  }
  async endpoints(): Promise<{ name: string; state: string }[]> {
    return this.endpointList;
  }
  async queueStats(queue: string): Promise<QueueStats> {
    const s = this.queues.get(queue);
    if (!s) throw Object.assign(new Error('no such queue'), { code: 'NOT_FOUND' });
    if (s instanceof Error) throw s;
    return s;
  }
  queueNames(): string[] {
    return [...this.queues.keys()];
  }
}

const queue = (over: Partial<QueueStats> = {}): QueueStats => ({ ready: 0, delayed: 0, dead: 0, oldestWaitingAgeMs: null, ...over });

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string, meta?: LogMeta): void => void lines.push(JSON.stringify({ level, message, ...meta }));
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

function setup(rules: unknown[]) {
  const sources = new FakeSources();
  let t = Date.UTC(2026, 0, 5, 9, 0, 0);
  const logger = captureLogger();
  let n = 0;
  const ev = new AlertEvaluator({ rules: parseAlertRules(rules), sources, intervalMs: 1000 }, { now: () => t, logger, newId: () => `ev-${++n}` });
  const events: AlertEvent[] = [];
  ev.on('alert', (e) => events.push(e));
  const at = async (seconds: number): Promise<AlertEvent[]> => {
    t += seconds * 1000;
    const before = events.length;
    await ev.evaluate();
    return events.slice(before);
  };
  return { sources, ev, events, at, logger, now: () => t };
}

const kinds = (es: AlertEvent[]): string[] => es.map((e) => `${e.rule}:${e.kind}`);

describe('AlertEvaluator', () => {
  test('error-rate fires at the threshold once enough messages arrived, and recovers below it', async () => {
    const { sources, at, now } = setup([{ name: 'intake-errors', type: 'error-rate', endpoint: 'hl7-intake', windowSeconds: 300, threshold: 0.2, minMessages: 5 }]);
    sources.counts.set('hl7-intake', { total: 4, errored: 4 });
    expect(await at(0)).toEqual([]); // 100% but only 4 messages: under minMessages
    expect(sources.countCalls.at(-1)).toEqual({ endpoint: 'hl7-intake', from: new Date(now() - 300_000) });

    sources.counts.set('hl7-intake', { total: 10, errored: 2 });
    const [fired] = await at(15);
    expect(fired).toMatchObject({ kind: 'fired', rule: 'intake-errors', type: 'error-rate', value: 0.2, threshold: 0.2, unit: 'ratio', subjects: ['hl7-intake'] });
    expect(fired!.text).toBe('[FIRING] intake-errors: 20% in error (2 of 10 messages in 5 min) (error rate ≥ 20% over 5 min (at least 5 messages) on hl7-intake)');
    expect(fired!.since).toBe(fired!.at);

    expect(await at(15)).toEqual([]); // still firing, no reminders configured

    sources.counts.set('hl7-intake', { total: 20, errored: 3 });
    const [recovered] = await at(30);
    expect(recovered).toMatchObject({ kind: 'recovered', rule: 'intake-errors', value: 0.15, since: fired!.at });
    expect(recovered!.text).toBe('[RECOVERED] intake-errors: 15% in error (3 of 20 messages in 5 min) (was firing for 45 s)');
  });

  test('error-rate without an endpoint counts all endpoints together', async () => {
    const { sources, at } = setup([{ name: 'all-errors', type: 'error-rate', threshold: 0.5, minMessages: 1 }]);
    sources.counts.set('*', { total: 2, errored: 1 });
    const [e] = await at(0);
    expect(e).toMatchObject({ kind: 'fired', subjects: [], condition: 'error rate ≥ 50% over 5 min (at least 1 messages) on all endpoints' });
    expect(sources.countCalls[0]!.endpoint).toBeNull();
  });

  test('queue-depth counts ready and delayed messages against the threshold', async () => {
    const { sources, at } = setup([{ name: 'lab-backlog', type: 'queue-depth', queue: 'lab-results', threshold: 100 }]);
    sources.queues.set('lab-results', queue({ ready: 60, delayed: 39 }));
    expect(await at(0)).toEqual([]);
    sources.queues.set('lab-results', queue({ ready: 60, delayed: 40 }));
    expect(await at(10)).toEqual([expect.objectContaining({ kind: 'fired', value: 100, unit: 'messages', subjects: ['lab-results'] })]);
    sources.queues.set('lab-results', queue({ ready: 3 }));
    expect(await at(10)).toEqual([expect.objectContaining({ kind: 'recovered', value: 3 })]);
  });

  test('queue-oldest-age fires when the oldest waiting message is old enough', async () => {
    const { sources, at } = setup([{ name: 'stale-claims', type: 'queue-oldest-age', queue: 'claims', thresholdSeconds: 600 }]);
    sources.queues.set('claims', queue({ ready: 1, oldestWaitingAgeMs: 599_000 }));
    expect(await at(0)).toEqual([]);
    sources.queues.set('claims', queue({ ready: 1, oldestWaitingAgeMs: 601_000 }));
    const [e] = await at(5);
    expect(e).toMatchObject({ kind: 'fired', value: 601, threshold: 600, unit: 'seconds' });
    expect(e!.text).toContain('oldest waiting message in queue claims is 10 min old');
    sources.queues.set('claims', queue());
    expect(kinds(await at(5))).toEqual(['stale-claims:recovered']);
  });

  test('endpoint-down fires only after the endpoint stayed down for forSeconds, and recovers when it is back', async () => {
    const { sources, at } = setup([{ name: 'lis-down', type: 'endpoint-down', endpoint: 'lis-mllp', forSeconds: 60 }]);
    sources.endpointList = [{ name: 'lis-mllp', state: 'connected' }];
    expect(await at(0)).toEqual([]);
    sources.endpointList = [{ name: 'lis-mllp', state: 'error' }];
    expect(await at(10)).toEqual([]); // first seen down
    expect(await at(30)).toEqual([]); // down 30 s
    sources.endpointList = [{ name: 'lis-mllp', state: 'connected' }];
    expect(await at(10)).toEqual([]); // back before 60 s: the outage clock resets
    sources.endpointList = [{ name: 'lis-mllp', state: 'disconnected' }];
    expect(await at(10)).toEqual([]);
    const [fired] = await at(60);
    expect(fired).toMatchObject({ kind: 'fired', value: 60, threshold: 60, unit: 'seconds', subjects: ['lis-mllp'] });
    expect(fired!.text).toBe('[FIRING] lis-down: down: lis-mllp (disconnected, 60 s) (endpoint lis-mllp down for ≥ 60 s)');
    sources.endpointList = [{ name: 'lis-mllp', state: 'connected' }];
    expect(kinds(await at(10))).toEqual(['lis-down:recovered']);
  });

  test('endpoint-down for any endpoint names every endpoint that is down; listening and idle are up', async () => {
    const { sources, at } = setup([{ name: 'any-down', type: 'endpoint-down', forSeconds: 0 }]);
    sources.endpointList = [
      { name: 'hl7-intake', state: 'listening' },
      { name: 'http-intake', state: 'idle' },
      { name: 'lis-mllp', state: 'connecting' },
      { name: 'emr', state: 'error' },
      { name: 'old', state: 'stopped' },
    ];
    const [e] = await at(0);
    expect(e).toMatchObject({ kind: 'fired' });
    expect([...e!.subjects].sort()).toEqual(['emr', 'lis-mllp']);
  });

  test('dead-letters-growing fires on growth within the window and recovers once the window holds no growth', async () => {
    const { sources, at } = setup([{ name: 'dead-growing', type: 'dead-letters-growing', windowSeconds: 60, increase: 2 }]);
    sources.queues.set('lab-results', queue({ dead: 5 }));
    sources.queues.set('claims', queue({ dead: 0 }));
    expect(await at(0)).toEqual([]);
    sources.queues.set('lab-results', queue({ dead: 6 }));
    expect(await at(20)).toEqual([]); // +1
    sources.queues.set('lab-results', queue({ dead: 7 }));
    const [fired] = await at(20); // +2 within 40 s
    expect(fired).toMatchObject({ kind: 'fired', value: 2, subjects: ['lab-results'] });
    expect(fired!.text).toContain('2 new dead letters in queue lab-results within 60 s (7 in all)');
    expect(await at(10)).toEqual([]); // 50 s: the count of 5 at 0 s is still inside the 60 s window
    const [recovered] = await at(20); // 70 s: the window starts after it; growth 6 → 7 is under 2
    expect(recovered).toMatchObject({ kind: 'recovered', value: 1 });
  });

  test('dead-letters-growing over all queues measures the queues that answer', async () => {
    const { sources, at } = setup([{ name: 'dead-any', type: 'dead-letters-growing', windowSeconds: 300, increase: 1 }]);
    sources.queues.set('a', queue({ dead: 1 }));
    sources.queues.set('b', new Error('broker away'));
    expect(await at(0)).toEqual([]);
    sources.queues.set('a', queue({ dead: 2 }));
    expect(kinds(await at(10))).toEqual(['dead-any:fired']);
  });

  test('throttle: an episode inside the throttle period is held back, then notified if it is still going', async () => {
    const { sources, at } = setup([{ name: 'backlog', type: 'queue-depth', queue: 'q', threshold: 10, throttleSeconds: 300 }]);
    const depth = (ready: number): void => void sources.queues.set('q', queue({ ready }));
    depth(10);
    expect(kinds(await at(0))).toEqual(['backlog:fired']);
    depth(0);
    expect(kinds(await at(30))).toEqual(['backlog:recovered']); // recovery is never throttled
    depth(10);
    expect(await at(30)).toEqual([]); // 60 s after the last "fired": held back
    depth(0);
    expect(await at(30)).toEqual([]); // that episode ended unnotified: no recovery either
    depth(10);
    expect(await at(30)).toEqual([]);
    const [late] = await at(210); // 300 s after the first notice and still firing
    expect(late).toMatchObject({ kind: 'fired', suppressed: 1 });
    depth(0);
    expect(kinds(await at(10))).toEqual(['backlog:recovered']);
  });

  test('throttleSeconds 0 notifies every episode', async () => {
    const { sources, at } = setup([{ name: 'flappy', type: 'queue-depth', queue: 'q', threshold: 1, throttleSeconds: 0 }]);
    const seen: string[] = [];
    for (const ready of [1, 0, 1, 0]) {
      sources.queues.set('q', queue({ ready }));
      seen.push(...kinds(await at(1)));
    }
    expect(seen).toEqual(['flappy:fired', 'flappy:recovered', 'flappy:fired', 'flappy:recovered']);
  });

  test('repeatEverySeconds sends reminders while the condition holds', async () => {
    const { sources, at } = setup([{ name: 'backlog', type: 'queue-depth', queue: 'q', threshold: 1, repeatEverySeconds: 600 }]);
    sources.queues.set('q', queue({ ready: 5 }));
    expect(kinds(await at(0))).toEqual(['backlog:fired']);
    expect(await at(599)).toEqual([]);
    const [r] = await at(1);
    expect(r).toMatchObject({ kind: 'reminder' });
    expect(r!.text.startsWith('[STILL FIRING] backlog: ')).toBe(true);
    expect(await at(300)).toEqual([]);
    expect(kinds(await at(300))).toEqual(['backlog:reminder']);
    sources.queues.set('q', queue());
    expect(kinds(await at(1))).toEqual(['backlog:recovered']);
  });

  test('a source that cannot answer keeps the state: neither a recovery nor a new alert, and the code is shown', async () => {
    const { sources, at, ev, logger } = setup([{ name: 'backlog', type: 'queue-depth', queue: 'q', threshold: 1 }]);
    sources.queues.set('q', queue({ ready: 5 }));
    expect(kinds(await at(0))).toEqual(['backlog:fired']);
    sources.queues.set('q', Object.assign(new Error('timed out'), { code: 'TIMEOUT' }));
    expect(await at(10)).toEqual([]);
    expect(await at(10)).toEqual([]);
    expect(ev.status()[0]).toMatchObject({ state: 'firing', error: 'TIMEOUT', value: 5 });
    expect(logger.lines.filter((l) => l.includes('could not be evaluated'))).toHaveLength(1);
    sources.queues.set('q', queue({ ready: 5 }));
    expect(await at(10)).toEqual([]);
    expect(ev.status()[0]).toMatchObject({ state: 'firing', error: null });
  });

  test('status() reports each rule, unknown before the first evaluation', async () => {
    const { sources, at, ev } = setup([
      { name: 'a', type: 'queue-depth', queue: 'q', threshold: 5 },
      { name: 'b', type: 'endpoint-down', endpoint: 'lis', forSeconds: 0 },
    ]);
    expect(ev.status().map((s) => s.state)).toEqual(['unknown', 'unknown']);
    sources.queues.set('q', queue({ ready: 1 }));
    sources.endpointList = [{ name: 'lis', state: 'error' }];
    await at(0);
    expect(ev.status()).toEqual([
      expect.objectContaining({ name: 'a', state: 'ok', value: 1, threshold: 5, condition: 'queue q has ≥ 5 waiting messages', lastNotifiedAt: null }),
      expect.objectContaining({ name: 'b', state: 'firing', subjects: ['lis'], text: 'down: lis (error, 0 s)' }),
    ]);
  });

  test('alert texts and logs carry names and numbers only, never canary PHI', async () => {
    // Even if a PHI value reached a source answer's error text, nothing of it is passed on.
    const { sources, at, events, logger } = setup([{ name: 'backlog', type: 'queue-depth', queue: 'q', threshold: 1 }]);
    sources.queues.set('q', new Error(`bad message for ${CANARY_MRN} ${CANARY_NAME}`));
    await at(0);
    sources.queues.set('q', queue({ ready: 2 }));
    await at(1);
    const all = JSON.stringify(events) + logger.lines.join('\n');
    expect(events).toHaveLength(1);
    for (const c of [CANARY_MRN, CANARY_NAME, 'CANARYSURNAME']) expect(all).not.toContain(c);
  });

  test('a listener that throws does not stop the evaluation', async () => {
    const { sources, at, ev } = setup([
      { name: 'a', type: 'queue-depth', queue: 'q', threshold: 1 },
      { name: 'b', type: 'queue-depth', queue: 'q', threshold: 2 },
    ]);
    ev.prependListener('alert', () => {
      throw new Error('listener broke');
    });
    sources.queues.set('q', queue({ ready: 3 }));
    expect(kinds(await at(0))).toEqual([]); // the throwing listener runs first, so the capture never sees them…
    expect(ev.status().map((s) => s.state)).toEqual(['firing', 'firing']); // …but both rules were evaluated
  });
});
