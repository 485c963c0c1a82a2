import { errorCode } from '../shared/errors';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import type { AuditEntry, AuditLog } from '../store/types';
import { AlertEvaluator } from './evaluator';
import type { AlertEvaluatorDeps, AlertEvaluatorOptions } from './evaluator';
import type { AlertEvent, AlertHistoryEntry, AlertRule, AlertSources, AlertsView } from './types';
import type { AlertNotifier } from './webhook-notifier';

export const ALERT_FIRED = 'alert.fired';
export const ALERT_RECOVERED = 'alert.recovered';
const ACTOR = 'system';
/** Shutdown waits this long for notices still being delivered (the hub's stop budget is shared). */
const STOP_WAIT_MS = 2000;

export type AlertListener = (event: AlertEvent) => void;

/** What nodes (`hub-alert`) see of the alert service through the hub registry. */
export interface AlertSubscriptions {
  /**
   * Receive every alert event from now on.
   * @returns unsubscribe
   */
  subscribe(listener: AlertListener): () => void;
}

export interface AlertServiceOptions {
  rules: AlertRule[];
  sources: AlertSources;
  intervalMs: number;
  /** Outside channels (the webhook). Flow subscribers come through {@link AlertService.subscribe}. */
  notifiers?: AlertNotifier[];
  /** Where `fired` and `recovered` are kept: the audit log, actor `system`. */
  audit: AuditLog;
  /** Rules whose measurements hub processes share, evaluated by the leading process only (see AlertEvaluatorOptions.shared). */
  shared?: AlertEvaluatorOptions['shared'];
}

/**
 * The hub's alerting: evaluates the rules, records each `fired`/`recovered`
 * in the audit log, then hands every event (reminders too) to the outside
 * notifiers and to the flows' `hub-alert` nodes. A failing channel is logged
 * by code and does not hold back the others.
 */
export class AlertService implements AlertSubscriptions {
  private readonly evaluator: AlertEvaluator;
  private readonly listeners = new Set<AlertListener>();
  private readonly logger: Logger;
  private readonly pending = new Set<Promise<void>>();
  private history: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: AlertServiceOptions,
    deps: AlertEvaluatorDeps = {},
  ) {
    this.logger = deps.logger ?? silentLogger;
    this.evaluator = new AlertEvaluator({ rules: options.rules, sources: options.sources, intervalMs: options.intervalMs, ...(options.shared ? { shared: options.shared } : {}) }, deps);
    this.evaluator.on('alert', (e) => this.dispatch(e));
  }

  get ruleCount(): number {
    return this.options.rules.length;
  }

  subscribe(listener: AlertListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.evaluator.start();
  }

  /** One evaluation pass now, resolving once its notices are recorded and delivered (tests). */
  async evaluate(): Promise<void> {
    await this.evaluator.evaluate();
    await this.settled();
  }

  /** Stops evaluating, gives pending deliveries a short while, then abandons them. Idempotent. */
  async stop(): Promise<void> {
    await this.evaluator.stop();
    await this.options.shared?.release?.().catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise<void>((r) => (timer = setTimeout(r, STOP_WAIT_MS)))]);
    clearTimeout(timer);
    await Promise.all((this.options.notifiers ?? []).map((n) => n.close().catch(() => undefined)));
    this.listeners.clear();
  }

  /**
   * Each rule's current state and the latest fired/recovered entries, newest first.
   * @param limit - history entries, at most 500
   */
  async view(limit = 100): Promise<AlertsView> {
    const n = Math.max(1, Math.min(500, limit));
    const [fired, recovered] = await Promise.all([this.options.audit.list({ action: ALERT_FIRED, limit: n }), this.options.audit.list({ action: ALERT_RECOVERED, limit: n })]);
    const history = [...fired, ...recovered]
      .sort((a, b) => b.id - a.id)
      .slice(0, n)
      .map(historyEntry);
    return { enabled: this.options.rules.length > 0, intervalSeconds: this.options.intervalMs / 1000, rules: this.evaluator.status(), history };
  }

  private dispatch(event: AlertEvent): void {
    // The record goes first and in order, so the history never shows a recovery before its alert.
    const recorded = event.kind === 'reminder' ? this.history : (this.history = this.history.then(() => this.record(event)));
    this.track(recorded.then(() => this.deliver(event)));
  }

  private async record(event: AlertEvent): Promise<void> {
    try {
      await this.options.audit.append({
        actor: ACTOR,
        action: event.kind === 'fired' ? ALERT_FIRED : ALERT_RECOVERED,
        target: event.rule,
        at: new Date(event.at),
        detail: { id: event.id, type: event.type, since: event.since, value: event.value, threshold: event.threshold, unit: event.unit, subjects: event.subjects, text: event.text },
      });
    } catch (err) {
      this.logger.error('alert could not be recorded', { rule: event.rule, kind: event.kind, code: errorCode(err) });
    }
  }

  private async deliver(event: AlertEvent): Promise<void> {
    for (const l of [...this.listeners]) {
      try {
        l(event);
      } catch (err) {
        this.logger.error('alert subscriber failed', { rule: event.rule, code: errorCode(err) });
      }
    }
    await Promise.all(
      (this.options.notifiers ?? []).map((n) =>
        n.notify(event).catch((err: unknown) => this.logger.error('alert notification failed', { rule: event.rule, kind: event.kind, channel: n.name, code: errorCode(err) })),
      ),
    );
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

function historyEntry(e: AuditEntry): AlertHistoryEntry {
  const d = e.detail ?? {};
  const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);
  return {
    at: e.at.toISOString(),
    kind: e.action === ALERT_FIRED ? 'fired' : 'recovered',
    rule: e.target ?? '',
    type: typeof d.type === 'string' ? d.type : null,
    text: typeof d.text === 'string' ? d.text : null,
    value: num(d.value),
    threshold: num(d.threshold),
    subjects: Array.isArray(d.subjects) ? d.subjects.filter((s): s is string => typeof s === 'string') : [],
  };
}
