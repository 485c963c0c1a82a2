/**
 * Alert rules, their evaluation state and the events they produce. Types only,
 * so the monitor UI can import them too. Alert texts name rules, endpoints,
 * queues, counts and thresholds: configuration and measurements, never message
 * content.
 */

export const ALERT_RULE_TYPES = ['error-rate', 'queue-depth', 'queue-oldest-age', 'endpoint-down', 'dead-letters-growing'] as const;
export type AlertRuleType = (typeof ALERT_RULE_TYPES)[number];

interface RuleBase {
  /** Unique; the alert's identity in notifications and history. */
  name: string;
  /** At most one "fired" notice per this many seconds (a flapping condition is collapsed). */
  throttleSeconds: number;
  /** While still firing, remind every this many seconds; null: no reminders. */
  repeatEverySeconds: number | null;
}

/** errored / received among messages received in the window, once at least `minMessages` arrived. */
export interface ErrorRateRule extends RuleBase {
  type: 'error-rate';
  /** Store endpoint name; null: every endpoint together. */
  endpoint: string | null;
  windowSeconds: number;
  /** A fraction, 0 < threshold ≤ 1. */
  threshold: number;
  minMessages: number;
}

/** Waiting messages (ready + delayed) of one queue ≥ threshold. */
export interface QueueDepthRule extends RuleBase {
  type: 'queue-depth';
  queue: string;
  threshold: number;
}

/** Age of the oldest waiting message of one queue ≥ thresholdSeconds. */
export interface QueueOldestAgeRule extends RuleBase {
  type: 'queue-oldest-age';
  queue: string;
  thresholdSeconds: number;
}

/** An endpoint (or any endpoint) disconnected, in error or stuck connecting for ≥ forSeconds. */
export interface EndpointDownRule extends RuleBase {
  type: 'endpoint-down';
  /** null: any endpoint. */
  endpoint: string | null;
  forSeconds: number;
}

/** A queue's (or any known queue's) dead letters grew by ≥ increase within the window. */
export interface DeadLettersGrowingRule extends RuleBase {
  type: 'dead-letters-growing';
  /** null: every queue the hub knows of. */
  queue: string | null;
  windowSeconds: number;
  increase: number;
}

export type AlertRule = ErrorRateRule | QueueDepthRule | QueueOldestAgeRule | EndpointDownRule | DeadLettersGrowingRule;

/** Connection states that count as "down" (the monitor's EndpointState vocabulary). */
export const DOWN_STATES: readonly string[] = ['disconnected', 'error', 'connecting'];

/** What the evaluator samples. The hub implements it over the store, the flows and the queue. */
export interface AlertSources {
  /**
   * Messages received since `from`, and how many of them are now in `error`.
   * @param endpoint - store endpoint name; null for all
   */
  messageCounts(endpoint: string | null, from: Date): Promise<{ total: number; errored: number }>;
  /** Every deployed endpoint with its connection state. */
  endpoints(): Promise<{ name: string; state: string }[]>;
  /** Depth, age and dead letters of one queue; rejects when the queue backend cannot answer. */
  queueStats(queue: string): Promise<{ ready: number; delayed: number; dead: number; oldestWaitingAgeMs: number | null }>;
  /** Queues "every queue" means: those the configuration names and those seen in use. */
  queueNames(): string[];
}

export type AlertEventKind = 'fired' | 'reminder' | 'recovered';

/** One notification. Safe to send anywhere: no message content, no patient data. */
export interface AlertEvent {
  /** Unique per event: the idempotency key for receivers (a webhook retry repeats it). */
  id: string;
  kind: AlertEventKind;
  rule: string;
  type: AlertRuleType;
  /** When this event was produced (ISO 8601). */
  at: string;
  /** When the condition started (ISO 8601). */
  since: string;
  /** The condition in words, e.g. "error rate ≥ 20% over 5 min (at least 10 messages) on hl7-intake". */
  condition: string;
  /** The measurement at `at`: a fraction for error rates, a count, or seconds. */
  value: number | null;
  threshold: number;
  unit: 'ratio' | 'messages' | 'seconds';
  /** The endpoint(s) or queue(s) concerned, when the rule covers several. */
  subjects: string[];
  /** One line for a person: "[FIRING] hl7-errors: …". */
  text: string;
  /** "fired" only: earlier episodes that started and ended within the throttle period and were not notified. */
  suppressed?: number;
}

export type AlertRuleState = 'ok' | 'firing' | 'unknown';

/** A rule as the monitor shows it. */
export interface AlertRuleStatus {
  name: string;
  type: AlertRuleType;
  condition: string;
  state: AlertRuleState;
  /** Start of the current state (ISO), null before the first evaluation. */
  since: string | null;
  value: number | null;
  threshold: number;
  unit: AlertEvent['unit'];
  subjects: string[];
  /** Latest measurement in words. */
  text: string | null;
  lastEvaluatedAt: string | null;
  lastNotifiedAt: string | null;
  /** Why the last evaluation could not measure (an error code), or null. */
  error: string | null;
}

/** One fired/recovered entry of the alert history. */
export interface AlertHistoryEntry {
  at: string;
  kind: 'fired' | 'recovered';
  rule: string;
  type: string | null;
  text: string | null;
  value: number | null;
  threshold: number | null;
  subjects: string[];
}

/** `GET /api/v1/monitor/alerts`. */
export interface AlertsView {
  /** Whether any rule is configured (HUB_ALERT_RULES). */
  enabled: boolean;
  intervalSeconds: number | null;
  rules: AlertRuleStatus[];
  history: AlertHistoryEntry[];
}
