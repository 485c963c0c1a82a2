import type { AlertRule } from './types';

/** Wording shared by notifications and the monitor: short, and only configuration and measurements. */

export function percent(fraction: number): string {
  const p = fraction * 100;
  return `${Number.isInteger(p) ? p : p.toFixed(1)}%`;
}

export function seconds(s: number): string {
  if (s < 120) return `${Math.round(s)} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** The rule's condition in words. */
export function conditionOf(rule: AlertRule): string {
  switch (rule.type) {
    case 'error-rate':
      return `error rate ≥ ${percent(rule.threshold)} over ${seconds(rule.windowSeconds)} (at least ${rule.minMessages} messages) on ${rule.endpoint ?? 'all endpoints'}`;
    case 'queue-depth':
      return `queue ${rule.queue} has ≥ ${rule.threshold} waiting messages`;
    case 'queue-oldest-age':
      return `oldest waiting message in queue ${rule.queue} is ≥ ${seconds(rule.thresholdSeconds)} old`;
    case 'endpoint-down':
      return `${rule.endpoint ? `endpoint ${rule.endpoint}` : 'any endpoint'} down for ≥ ${seconds(rule.forSeconds)}`;
    case 'dead-letters-growing':
      return `dead letters of ${rule.queue ? `queue ${rule.queue}` : 'any queue'} grow by ≥ ${rule.increase} within ${seconds(rule.windowSeconds)}`;
  }
}

/** The threshold in the unit the event reports values in. */
export function thresholdOf(rule: AlertRule): { threshold: number; unit: 'ratio' | 'messages' | 'seconds' } {
  switch (rule.type) {
    case 'error-rate':
      return { threshold: rule.threshold, unit: 'ratio' };
    case 'queue-depth':
      return { threshold: rule.threshold, unit: 'messages' };
    case 'queue-oldest-age':
      return { threshold: rule.thresholdSeconds, unit: 'seconds' };
    case 'endpoint-down':
      return { threshold: rule.forSeconds, unit: 'seconds' };
    case 'dead-letters-growing':
      return { threshold: rule.increase, unit: 'messages' };
  }
}
