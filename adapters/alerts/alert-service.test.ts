import { randomBytes } from 'node:crypto';
import { requirePostgres, TEST_PG_URL } from '../../test/support/postgres';
import { PgAdvisoryLeadership } from '../shared/pg-leadership';
import type { AuditEntry, AuditLog, AuditQuery, NewAuditEntry } from '../store/types';
import { AlertService } from './alert-service';
import { STANDBY } from './evaluator';
import { parseAlertRules } from './rules';
import type { AlertEvent, AlertSources } from './types';
import type { AlertNotifier } from './webhook-notifier';

class MemoryAudit implements AuditLog {
  entries: AuditEntry[] = [];
  failNext = false;
  async append(e: NewAuditEntry): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('store down');
    }
    this.entries.push({ id: this.entries.length + 1, at: e.at ?? new Date(), actor: e.actor, action: e.action, target: e.target ?? null, detail: e.detail ?? null, ip: e.ip ?? null });
  }
  async list(q: AuditQuery = {}): Promise<AuditEntry[]> {
    return this.entries.filter((e) => !q.action || e.action === q.action).sort((a, b) => b.id - a.id).slice(0, q.limit ?? 100);
  }
}

class RecordingNotifier implements AlertNotifier {
  readonly name = 'recording';
  got: AlertEvent[] = [];
  fail = false;
  async notify(e: AlertEvent): Promise<void> {
    this.got.push(e);
    if (this.fail) throw Object.assign(new Error('nope'), { code: 'PROVIDER' });
  }
  async close(): Promise<void> {}
}

function setup() {
  let ready = 0;
  const sources: AlertSources = {
    messageCounts: async () => ({ total: 0, errored: 0 }),
    endpoints: async () => [],
    queueStats: async () => ({ ready, delayed: 0, dead: 0, oldestWaitingAgeMs: null }),
    queueNames: () => ['q'],
  };
  let t = Date.UTC(2026, 0, 5, 9, 0, 0);
  const audit = new MemoryAudit();
  const webhook = new RecordingNotifier();
  const service = new AlertService(
    { rules: parseAlertRules([{ name: 'backlog', type: 'queue-depth', queue: 'q', threshold: 3, throttleSeconds: 0, repeatEverySeconds: 60 }]), sources, intervalMs: 1000, notifiers: [webhook], audit },
    { now: () => t },
  );
  const step = async (seconds: number, depth: number): Promise<void> => {
    t += seconds * 1000;
    ready = depth;
    await service.evaluate();
  };
  return { service, audit, webhook, step };
}

describe('AlertService', () => {
  test('records fired and recovered in the audit log as system, and hands every event to the notifiers and flow subscribers', async () => {
    const { service, audit, webhook, step } = setup();
    const flow: AlertEvent[] = [];
    service.subscribe((e) => flow.push(e));
    await step(0, 5);
    await step(60, 5); // reminder: delivered, not recorded
    await step(10, 0);
    expect(webhook.got.map((e) => e.kind)).toEqual(['fired', 'reminder', 'recovered']);
    expect(flow.map((e) => e.kind)).toEqual(['fired', 'reminder', 'recovered']);
    expect(audit.entries.map((e) => [e.actor, e.action, e.target])).toEqual([
      ['system', 'alert.fired', 'backlog'],
      ['system', 'alert.recovered', 'backlog'],
    ]);
    expect(audit.entries[0]!.detail).toMatchObject({ type: 'queue-depth', value: 5, threshold: 3, subjects: ['q'], text: expect.stringContaining('[FIRING] backlog') });
    expect(audit.entries[0]!.at.toISOString()).toBe(webhook.got[0]!.at);
  });

  test('view() shows the rule state and the history newest first', async () => {
    const { service, step } = setup();
    await step(0, 5);
    await step(10, 0);
    await step(10, 4);
    const v = await service.view();
    expect(v.enabled).toBe(true);
    expect(v.rules).toEqual([expect.objectContaining({ name: 'backlog', state: 'firing', value: 4 })]);
    expect(v.history.map((h) => h.kind)).toEqual(['fired', 'recovered', 'fired']);
    expect(v.history[0]).toMatchObject({ rule: 'backlog', type: 'queue-depth', value: 4, threshold: 3, subjects: ['q'] });
    expect((await service.view(2)).history).toHaveLength(2);
  });

  test('a failing channel or history write does not hold back the others', async () => {
    const { service, audit, webhook, step } = setup();
    const flow: AlertEvent[] = [];
    service.subscribe(() => {
      throw new Error('node broke');
    });
    service.subscribe((e) => flow.push(e));
    webhook.fail = true;
    audit.failNext = true;
    await step(0, 5);
    expect(flow.map((e) => e.kind)).toEqual(['fired']);
    expect(webhook.got).toHaveLength(1);
    expect(audit.entries).toHaveLength(0);
    await step(1, 0);
    expect(audit.entries.map((e) => e.action)).toEqual(['alert.recovered']);
  });

  test('unsubscribe and stop end deliveries to flows', async () => {
    const { service, step } = setup();
    const flow: AlertEvent[] = [];
    const off = service.subscribe((e) => flow.push(e));
    off();
    await step(0, 5);
    expect(flow).toEqual([]);
    await service.stop();
    await service.stop();
  });
});

describe('AlertService in hub processes sharing a PostgreSQL store', () => {
  test('a shared rule is notified by the leading process only, and another takes over when it stops; endpoint rules stay with each process', async () => {
    await requirePostgres();
    // A scope of its own: other tests' hubs on this database lead their own alerts.
    const scope = `alerts_test_${randomBytes(4).toString('hex')}`;
    let depth = 5;
    const sources: AlertSources = {
      messageCounts: async () => ({ total: 0, errored: 0 }),
      endpoints: async () => [{ name: 'lab-mllp', state: 'error' }],
      queueStats: async () => ({ ready: depth, delayed: 0, dead: 0, oldestWaitingAgeMs: null }),
      queueNames: () => ['q'],
    };
    const rules = parseAlertRules([
      { name: 'backlog', type: 'queue-depth', queue: 'q', threshold: 3, throttleSeconds: 0 },
      { name: 'listener-down', type: 'endpoint-down', endpoint: 'lab-mllp', forSeconds: 0, throttleSeconds: 0 },
    ]);
    const t = Date.UTC(2026, 0, 5, 9, 0, 0);
    const processes = [0, 1].map(() => {
      const leadership = new PgAdvisoryLeadership(TEST_PG_URL, 'alerts', scope);
      const webhook = new RecordingNotifier();
      const service = new AlertService(
        {
          rules,
          sources,
          intervalMs: 1000,
          notifiers: [webhook],
          audit: new MemoryAudit(),
          shared: { isShared: (r) => r.type !== 'endpoint-down', leads: () => leadership.isLeader(), release: () => leadership.close() },
        },
        { now: () => t },
      );
      return { service, webhook };
    });
    const [a, b] = processes as [(typeof processes)[number], (typeof processes)[number]];
    try {
      await a.service.evaluate();
      await b.service.evaluate();
      const fired = (p: typeof a): string[] => p.webhook.got.filter((e) => e.kind === 'fired').map((e) => e.rule);
      expect(fired(a)).toEqual(['backlog', 'listener-down']);
      expect(fired(b)).toEqual(['listener-down']);
      await expect(b.service.view().then((v) => v.rules.find((r) => r.name === 'backlog'))).resolves.toMatchObject({ state: 'unknown', error: STANDBY });
      // The leader goes away: the other process leads from its next evaluation, and the backlog is still there.
      await a.service.stop();
      await b.service.evaluate();
      expect(fired(b)).toEqual(['listener-down', 'backlog']);
      depth = 0;
      await b.service.evaluate();
      expect(b.webhook.got.filter((e) => e.kind === 'recovered').map((e) => e.rule)).toEqual(['backlog']);
    } finally {
      await Promise.all(processes.map((p) => p.service.stop()));
    }
  });
});
