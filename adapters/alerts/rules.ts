import { IntegrationError } from '../shared/errors';
import { ALERT_RULE_TYPES } from './types';
import type { AlertRule, AlertRuleType } from './types';

/** A rule that cannot be used; `path` names the rule index and field, e.g. `[2].threshold`. */
export class AlertRuleError extends IntegrationError {
  constructor(
    readonly path: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`alert rule ${path}: ${allowed}`, 'CONFIG', false);
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
/** Queue names as the queue adapters accept them. */
const QUEUE = /^[A-Za-z0-9_-]{1,64}$/;
const DAY_S = 86_400;

const FIELDS: Record<AlertRuleType, readonly string[]> = {
  'error-rate': ['endpoint', 'windowSeconds', 'threshold', 'minMessages'],
  'queue-depth': ['queue', 'threshold'],
  'queue-oldest-age': ['queue', 'thresholdSeconds'],
  'endpoint-down': ['endpoint', 'forSeconds'],
  'dead-letters-growing': ['queue', 'windowSeconds', 'increase'],
};
const COMMON = ['name', 'type', 'throttleSeconds', 'repeatEverySeconds'];

/**
 * Validates alert rules from configuration and fills in defaults.
 * @param value - the parsed JSON (an array of rule objects)
 * @throws AlertRuleError naming the first bad rule and field
 */
export function parseAlertRules(value: unknown): AlertRule[] {
  if (!Array.isArray(value)) throw new AlertRuleError('', '<not an array>', 'a JSON array of rule objects');
  const names = new Set<string>();
  return value.map((raw: unknown, i) => {
    const at = (field: string): string => `[${i}]${field ? `.${field}` : ''}`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new AlertRuleError(at(''), '<not an object>', 'a rule object');
    const o = raw as Record<string, unknown>;
    const type = o.type as AlertRuleType;
    if (!ALERT_RULE_TYPES.includes(type)) throw new AlertRuleError(at('type'), String(o.type), `one of ${ALERT_RULE_TYPES.join(', ')}`);
    for (const k of Object.keys(o)) {
      if (!COMMON.includes(k) && !FIELDS[type].includes(k)) throw new AlertRuleError(at(k), '(present)', `not a field of ${type} rules; allowed: ${[...COMMON, ...FIELDS[type]].join(', ')}`);
    }
    if (typeof o.name !== 'string' || !NAME.test(o.name)) throw new AlertRuleError(at('name'), String(o.name), 'letters, digits, space and ._- (1-64), starting with a letter or digit');
    if (names.has(o.name)) throw new AlertRuleError(at('name'), o.name, 'a name not used by another rule');
    names.add(o.name);

    const num = (field: string, min: number, max: number, dflt: number | undefined, integer = true): number => {
      const v = o[field];
      if (v === undefined && dflt !== undefined) return dflt;
      if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
        throw new AlertRuleError(at(field), String(v), `${integer ? 'an integer' : 'a number'} from ${min} to ${max}${dflt === undefined ? ' (required)' : ''}`);
      }
      return v;
    };
    const name = (field: string, pattern: RegExp, required: boolean): string | null => {
      const v = o[field];
      if ((v === undefined || v === '*') && !required) return null;
      if (typeof v !== 'string' || !pattern.test(v)) throw new AlertRuleError(at(field), String(v), required ? 'a name (required)' : 'a name, or omitted / "*" for all');
      return v;
    };

    const base = {
      name: o.name,
      throttleSeconds: num('throttleSeconds', 0, DAY_S, 300),
      repeatEverySeconds: o.repeatEverySeconds === undefined || o.repeatEverySeconds === null ? null : num('repeatEverySeconds', 60, 7 * DAY_S, undefined),
    };
    switch (type) {
      case 'error-rate':
        return {
          ...base,
          type,
          endpoint: name('endpoint', /^.{1,200}$/, false),
          windowSeconds: num('windowSeconds', 10, DAY_S, 300),
          threshold: thresholdFraction(o.threshold, at('threshold')),
          minMessages: num('minMessages', 1, 1_000_000, 10),
        };
      case 'queue-depth':
        return { ...base, type, queue: name('queue', QUEUE, true)!, threshold: num('threshold', 1, 100_000_000, undefined) };
      case 'queue-oldest-age':
        return { ...base, type, queue: name('queue', QUEUE, true)!, thresholdSeconds: num('thresholdSeconds', 1, 30 * DAY_S, undefined) };
      case 'endpoint-down':
        return { ...base, type, endpoint: name('endpoint', /^.{1,200}$/, false), forSeconds: num('forSeconds', 0, DAY_S, 60) };
      case 'dead-letters-growing':
        return { ...base, type, queue: name('queue', QUEUE, false), windowSeconds: num('windowSeconds', 10, DAY_S, 300), increase: num('increase', 1, 1_000_000, 1) };
    }
  });
}

function thresholdFraction(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 1) throw new AlertRuleError(path, String(v), 'a fraction above 0 and at most 1, e.g. 0.2 for 20% (required)');
  return v;
}
