import { get, parsePath, type Hl7Message } from '../../adapters/hl7';

/** One routing rule as the editor stores it. */
export interface RouteRuleDef {
  /** What to look at: message type, sending application, sending facility, or any path. */
  t: 'type' | 'app' | 'facility' | 'path';
  /** The path, for `t: 'path'`. */
  p?: string;
  /** For paths: equals, regular expression, or "has a value". */
  op?: 'eq' | 'regex' | 'exists';
  /** Pattern (type/app/facility: wildcards, comma-separated alternatives), value or regex. */
  v?: string;
}

export type RouteMatcher = (message: Hl7Message) => boolean;

/**
 * Compile a rule once, at deploy. Throws an Error naming the rule's problem
 * (bad path, bad regex); the caller adds which rule it was.
 *
 * - `type`: `ADT^A0*`, `ORU^R01`, `ADT` (any trigger), `*^R01`, or with the
 *   structure `ORU^R01^ORU_R01`; `*` is any run of characters, `?` one
 *   character, commas separate alternatives; matched against MSH-9 with as
 *   many components as the pattern has, case-insensitively.
 * - `app`, `facility`: the same wildcard patterns against MSH-3.1 / MSH-4.1.
 * - `path`: the decoded value at the path (first repetition/component when the
 *   path leaves them out) equals `v`, matches the regex `v`, or is non-empty.
 *
 * @param rule - the rule from the editor
 */
export function compileRule(rule: RouteRuleDef): RouteMatcher {
  switch (rule.t) {
    case 'type': {
      const patterns = alternatives(rule.v).map((alt) => ({ parts: alt.split('^').length, re: wildcard(alt) }));
      if (patterns.length === 0) throw new Error('no message type pattern');
      return (message) => {
        const type = [get(message, 'MSH-9.1') ?? '', get(message, 'MSH-9.2') ?? '', get(message, 'MSH-9.3') ?? ''];
        return patterns.some((p) => p.re.test(type.slice(0, p.parts).join('^')));
      };
    }
    case 'app':
    case 'facility': {
      const path = rule.t === 'app' ? 'MSH-3.1' : 'MSH-4.1';
      const patterns = alternatives(rule.v).map(wildcard);
      if (patterns.length === 0) throw new Error('no pattern');
      return (message) => {
        const value = get(message, path) ?? '';
        return patterns.some((re) => re.test(value));
      };
    }
    case 'path': {
      const path = (rule.p ?? '').trim();
      if (parsePath(path).field === undefined) throw new Error(`"${path}" names a segment, not a field`);
      const expected = rule.v ?? '';
      switch (rule.op ?? 'eq') {
        case 'exists':
          return (message) => (get(message, path) ?? '') !== '';
        case 'regex': {
          const re = new RegExp(expected);
          return (message) => {
            const value = get(message, path);
            return value !== undefined && re.test(value);
          };
        }
        case 'eq':
          return (message) => get(message, path) === expected;
        default:
          throw new Error(`unknown operator "${String(rule.op)}"`);
      }
    }
    default:
      throw new Error(`unknown rule kind "${String((rule as { t: unknown }).t)}"`);
  }
}

/**
 * Outputs a message goes to: the indexes of matching rules (only the first
 * with `first`), or the "otherwise" output when nothing matched.
 *
 * @param matchers - compiled rules, in output order
 * @param message - the message to route
 * @param options - first or all matches; whether an otherwise output exists
 */
export function route(matchers: readonly RouteMatcher[], message: Hl7Message, options: { mode: 'first' | 'all'; otherwise: boolean }): number[] {
  const hits: number[] = [];
  for (const [index, matches] of matchers.entries()) {
    if (!matches(message)) continue;
    hits.push(index);
    if (options.mode === 'first') break;
  }
  if (hits.length === 0 && options.otherwise) hits.push(matchers.length);
  return hits;
}

function alternatives(pattern: string | undefined): string[] {
  return (pattern ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function wildcard(pattern: string): RegExp {
  const body = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
