import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { errorCode } from '../shared/errors';
import { silentLogger } from '../shared/logger';
import type { Logger } from '../shared/logger';
import { conditionOf, percent, seconds, thresholdOf } from './describe';
import { DOWN_STATES } from './types';
import type { AlertEvent, AlertEventKind, AlertRule, AlertRuleState, AlertRuleStatus, AlertSources } from './types';

export interface AlertEvaluatorOptions {
  rules: AlertRule[];
  sources: AlertSources;
  /** Time between evaluations when started. */
  intervalMs: number;
  /**
   * Hub processes sharing what a rule measures (the PostgreSQL store, a
   * broker's queues) would each notify the same alert. Such rules are
   * evaluated only while `leads()` says this process leads; elsewhere they
   * stand by (state unknown, error `STANDBY`). Default: every rule is local.
   */
  shared?: {
    isShared: (rule: AlertRule) => boolean;
    leads: () => Promise<boolean>;
    /** Called once evaluation has stopped: give the lead to another process. */
    release?: () => Promise<void>;
  };
}

/** The error code of a shared rule on a process that does not lead (another process evaluates it). */
export const STANDBY = 'STANDBY';

export interface AlertEvaluatorDeps {
  now?: () => number;
  logger?: Logger;
  newId?: () => string;
}

/** One measurement of a rule's condition. */
interface Measurement {
  breached: boolean;
  value: number | null;
  subjects: string[];
  /** The measurement in words, e.g. "50% of 4 messages in error". */
  detail: string;
}

interface Runtime {
  rule: AlertRule;
  state: AlertRuleState;
  since: number | null;
  last: Measurement | null;
  lastEvaluatedAt: number | null;
  error: string | null;
  /** Whether the current firing episode has been notified (it may wait out the throttle). */
  episodeNotified: boolean;
  lastFiredNoticeAt: number | null;
  lastNoticeAt: number | null;
  /** Episodes swallowed by the throttle since the last "fired" notice. */
  suppressed: number;
  /** endpoint-down: when each endpoint was first seen down in its current outage. */
  downSince: Map<string, number>;
  /** dead-letters-growing: dead-letter counts per queue over the window. */
  deadSamples: Map<string, { t: number; dead: number }[]>;
}

/** Per-pass memo: one endpoint listing and one stats call per queue, however many rules ask. */
interface Pass {
  endpoints?: Promise<{ name: string; state: string }[]>;
  queues: Map<string, ReturnType<AlertSources['queueStats']>>;
}

/**
 * Evaluates alert rules against periodic samples and emits `alert` events:
 * `fired` when a condition starts to hold, `reminder` while it keeps holding
 * (if the rule asks), `recovered` when it clears. Throttling is per rule: at
 * most one `fired` per `throttleSeconds`; an episode that begins inside that
 * period is notified once the period ends if it is still going, and is
 * otherwise only counted (`suppressed` on the next notice). A `recovered`
 * follows every notified `fired`, never throttled. Time comes from `now`, so
 * tests drive it with a fake clock and call {@link evaluate} directly.
 */
export class AlertEvaluator extends EventEmitter<{ alert: [AlertEvent] }> {
  private readonly runtimes: Runtime[];
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly newId: () => string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly options: AlertEvaluatorOptions,
    deps: AlertEvaluatorDeps = {},
  ) {
    super();
    this.now = deps.now ?? Date.now;
    this.logger = deps.logger ?? silentLogger;
    this.newId = deps.newId ?? randomUUID;
    this.runtimes = options.rules.map((rule) => ({
      rule,
      state: 'unknown',
      since: null,
      last: null,
      lastEvaluatedAt: null,
      error: null,
      episodeNotified: false,
      lastFiredNoticeAt: null,
      lastNoticeAt: null,
      suppressed: 0,
      downSince: new Map(),
      deadSamples: new Map(),
    }));
  }

  /** Evaluates every `intervalMs` until {@link stop}. */
  start(): void {
    if (this.timer || this.stopped || this.runtimes.length === 0) return;
    this.timer = setInterval(() => void this.evaluate(), this.options.intervalMs);
    this.timer.unref();
    void this.evaluate();
  }

  /** Stops the timer and waits for a running evaluation. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over every rule; a pass still running (a slow store) is joined, not repeated. */
  evaluate(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  status(): AlertRuleStatus[] {
    return this.runtimes.map((r) => ({
      name: r.rule.name,
      type: r.rule.type,
      condition: conditionOf(r.rule),
      state: r.state,
      since: iso(r.since),
      value: r.last?.value ?? null,
      ...thresholdOf(r.rule),
      subjects: r.last?.subjects ?? [],
      text: r.last?.detail ?? null,
      lastEvaluatedAt: iso(r.lastEvaluatedAt),
      lastNotifiedAt: iso(r.lastNoticeAt),
      error: r.error,
    }));
  }

  private async pass(): Promise<void> {
    const pass: Pass = { queues: new Map() };
    const shared = this.options.shared;
    const leads = shared && this.runtimes.some((r) => shared.isShared(r.rule)) ? await shared.leads().catch(() => false) : true;
    for (const r of this.runtimes) {
      if (this.stopped) return;
      const t = this.now();
      if (!leads && shared!.isShared(r.rule)) {
        this.standBy(r, t);
        continue;
      }
      let m: Measurement;
      try {
        m = await this.measure(r, t, pass);
      } catch (err) {
        const code = errorCode(err);
        // Keep the last state: a backend that cannot answer is not a recovery, nor a new alert.
        if (r.error !== code) this.logger.warn('alert rule could not be evaluated', { rule: r.rule.name, code });
        r.error = code;
        r.lastEvaluatedAt = t;
        continue;
      }
      r.error = null;
      r.last = m;
      r.lastEvaluatedAt = t;
      this.transition(r, m, t);
    }
  }

  /** Forget the rule's episode: the leading process owns it, and a process that takes the lead over starts afresh. */
  private standBy(r: Runtime, t: number): void {
    r.state = 'unknown';
    r.since = null;
    r.last = null;
    r.episodeNotified = false;
    r.downSince.clear();
    r.deadSamples.clear();
    r.error = STANDBY;
    r.lastEvaluatedAt = t;
  }

  private transition(r: Runtime, m: Measurement, t: number): void {
    const throttleMs = r.rule.throttleSeconds * 1000;
    if (m.breached) {
      if (r.state !== 'firing') {
        r.state = 'firing';
        r.since = t;
        r.episodeNotified = false;
      }
      if (!r.episodeNotified) {
        if (r.lastFiredNoticeAt === null || t - r.lastFiredNoticeAt >= throttleMs) {
          this.notify('fired', r, m, t);
          r.episodeNotified = true;
          r.lastFiredNoticeAt = t;
          r.suppressed = 0;
        }
      } else if (r.rule.repeatEverySeconds !== null && t - (r.lastNoticeAt ?? t) >= r.rule.repeatEverySeconds * 1000) {
        this.notify('reminder', r, m, t);
      }
      return;
    }
    if (r.state === 'firing') {
      if (r.episodeNotified) this.notify('recovered', r, m, t);
      else r.suppressed += 1;
    }
    if (r.state !== 'ok') {
      r.state = 'ok';
      r.since = t;
    }
  }

  private notify(kind: AlertEventKind, r: Runtime, m: Measurement, t: number): void {
    const since = r.since ?? t;
    const label = kind === 'fired' ? 'FIRING' : kind === 'reminder' ? 'STILL FIRING' : 'RECOVERED';
    const tail = kind === 'recovered' ? `was firing for ${seconds((t - since) / 1000)}` : conditionOf(r.rule);
    const event: AlertEvent = {
      id: this.newId(),
      kind,
      rule: r.rule.name,
      type: r.rule.type,
      at: new Date(t).toISOString(),
      since: new Date(since).toISOString(),
      condition: conditionOf(r.rule),
      value: m.value,
      ...thresholdOf(r.rule),
      subjects: m.subjects,
      text: `[${label}] ${r.rule.name}: ${m.detail} (${tail})`,
      ...(kind === 'fired' && r.suppressed > 0 ? { suppressed: r.suppressed } : {}),
    };
    r.lastNoticeAt = t;
    this.logger.info('alert', { rule: event.rule, kind, type: event.type, value: event.value });
    try {
      this.emit('alert', event);
    } catch (err) {
      this.logger.error('alert listener failed', { rule: event.rule, code: errorCode(err) });
    }
  }

  private async measure(r: Runtime, t: number, pass: Pass): Promise<Measurement> {
    const rule = r.rule;
    const src = this.options.sources;
    switch (rule.type) {
      case 'error-rate': {
        const { total, errored } = await src.messageCounts(rule.endpoint, new Date(t - rule.windowSeconds * 1000));
        const ratio = total > 0 ? errored / total : 0;
        return {
          breached: total >= rule.minMessages && ratio >= rule.threshold,
          value: total > 0 ? Math.round(ratio * 10_000) / 10_000 : null,
          subjects: rule.endpoint ? [rule.endpoint] : [],
          detail: total > 0 ? `${percent(Math.round(ratio * 1000) / 1000)} in error (${errored} of ${total} messages in ${seconds(rule.windowSeconds)})` : `no messages in ${seconds(rule.windowSeconds)}`,
        };
      }
      case 'queue-depth': {
        const s = await this.queueStats(rule.queue, pass);
        const waiting = s.ready + s.delayed;
        return { breached: waiting >= rule.threshold, value: waiting, subjects: [rule.queue], detail: `${waiting} waiting in queue ${rule.queue}` };
      }
      case 'queue-oldest-age': {
        const s = await this.queueStats(rule.queue, pass);
        const age = s.oldestWaitingAgeMs === null ? 0 : s.oldestWaitingAgeMs / 1000;
        return {
          breached: age >= rule.thresholdSeconds,
          value: Math.round(age),
          subjects: [rule.queue],
          detail: s.oldestWaitingAgeMs === null ? `nothing waiting in queue ${rule.queue}` : `oldest waiting message in queue ${rule.queue} is ${seconds(age)} old`,
        };
      }
      case 'endpoint-down': {
        pass.endpoints ??= src.endpoints();
        const list = (await pass.endpoints).filter((e) => rule.endpoint === null || e.name === rule.endpoint);
        const downNow = new Set<string>();
        for (const e of list) {
          if (!DOWN_STATES.includes(e.state)) continue;
          downNow.add(e.name);
          if (!r.downSince.has(e.name)) r.downSince.set(e.name, t);
        }
        for (const name of [...r.downSince.keys()]) if (!downNow.has(name)) r.downSince.delete(name);
        const longDown = [...r.downSince].filter(([, since]) => t - since >= rule.forSeconds * 1000).sort((a, b) => a[1] - b[1]);
        const states = new Map(list.map((e) => [e.name, e.state]));
        const worst = longDown[0] ? (t - longDown[0][1]) / 1000 : 0;
        let detail: string;
        if (longDown.length > 0) detail = `down: ${longDown.map(([name, since]) => `${name} (${states.get(name)}, ${seconds((t - since) / 1000)})`).join(', ')}`;
        else if (rule.endpoint && list.length === 0) detail = `endpoint ${rule.endpoint} is not deployed`;
        else detail = rule.endpoint ? `endpoint ${rule.endpoint} is ${states.get(rule.endpoint)}` : `${list.length - downNow.size} of ${list.length} endpoints up`;
        return { breached: longDown.length > 0, value: Math.round(worst), subjects: longDown.map(([name]) => name), detail };
      }
      case 'dead-letters-growing': {
        const names = rule.queue ? [rule.queue] : src.queueNames();
        const cutoff = t - rule.windowSeconds * 1000;
        let best: { queue: string; growth: number; dead: number } | null = null;
        const grown: string[] = [];
        let answered = 0;
        let lastErr: unknown = null;
        for (const q of names) {
          let dead: number;
          try {
            dead = (await this.queueStats(q, pass)).dead;
            answered += 1;
          } catch (err) {
            // One named queue: the rule cannot be measured. Several: measure the ones that answer.
            if (rule.queue) throw err;
            lastErr = err;
            continue;
          }
          const samples = (r.deadSamples.get(q) ?? []).filter((s) => s.t >= cutoff);
          samples.push({ t, dead });
          r.deadSamples.set(q, samples);
          const growth = dead - Math.min(...samples.map((s) => s.dead));
          if (growth >= rule.increase) grown.push(q);
          if (!best || growth > best.growth) best = { queue: q, growth, dead };
        }
        if (answered === 0 && lastErr) throw lastErr;
        for (const q of [...r.deadSamples.keys()]) if (!names.includes(q)) r.deadSamples.delete(q);
        const growth = Math.max(0, best?.growth ?? 0);
        return {
          breached: grown.length > 0,
          value: growth,
          subjects: grown,
          detail: best && growth > 0 ? `${growth} new dead letters in queue ${best.queue} within ${seconds(rule.windowSeconds)} (${best.dead} in all)` : `no new dead letters within ${seconds(rule.windowSeconds)}`,
        };
      }
    }
  }

  private queueStats(queue: string, pass: Pass): ReturnType<AlertSources['queueStats']> {
    let p = pass.queues.get(queue);
    if (!p) {
      p = this.options.sources.queueStats(queue);
      pass.queues.set(queue, p);
    }
    return p;
  }
}

function iso(t: number | null): string | null {
  return t === null ? null : new Date(t).toISOString();
}
